"""The fast paths' routes, as callgrind counts them (repeatable, unlike seconds): a program that frees
blocks of two classes in random order (test/preload/random_frees.c) must find one route per call
that the branch predictor can learn. free's first test used to ask whether the block lay in the
current zone of the class the last malloc served, which here goes either way at random: 0.51
mispredicted branches per step in callgrind's model, and on this machine's processor about 40
cycles each (glibc's bench-malloc-thread ran at half its speed for it). Now the first test asks
whether the block is the one the last malloc handed out: 0.01 per step."""
import re

from runner.core import BINARIES, Binary, Fail, LIB_SO, base_env, have, register, run

BINARIES["random_frees_plain"] = Binary("random_frees_plain", "test/preload/random_frees.c", link_ft=False)

# Mispredicted branches per step, at most (0.01 measured; 0.51 with the test before).
MAX_MISPREDICTS_PER_STEP = 0.1


def mispredicts(path, steps):
    r = run(["valgrind", "--tool=callgrind", "--branch-sim=yes", "--callgrind-out-file=/dev/null", path, str(steps)],
            env=base_env(LD_PRELOAD=LIB_SO), timeout=240)
    m = re.search(r"Mispredicts:\s+([\d,]+)", r.err)
    if r.rc != 0 or "done" not in r.out or not m:
        raise Fail("callgrind did not run the program to its end (exit status %d)" % r.rc, r.log())
    return int(m.group(1).replace(",", ""))


def random_frees_predictable():
    path = BINARIES["random_frees_plain"].require()
    # The difference of two runs leaves out start-up, the first blocks and exit.
    n = 100000
    per_step = (mispredicts(path, 2 * n) - mispredicts(path, n)) / n
    if per_step > MAX_MISPREDICTS_PER_STEP:
        raise Fail("%.2f mispredicted branches per step of random frees of 32 and 48 B blocks (callgrind), "
                   "more than %.2f" % (per_step, MAX_MISPREDICTS_PER_STEP))


if have("valgrind"):
    register("fast_paths/random_frees_take_a_predictable_route", random_frees_predictable, ["random_frees_plain"],
             timeout=300)
