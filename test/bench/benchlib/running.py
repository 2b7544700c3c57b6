"""Running the workloads: one timed run through build/bench_exec, and the interleaved
repetitions of every workload under every allocator."""
import os
import re
import signal
import sys
import tempfile
import threading
import time

from benchlib.common import BUILD, GLIBC, loadavg, median_or_none
from benchlib.workloads import workloads


class Run:
    def __init__(self, status, wall, maxrss_kib, values, stderr=""):
        self.status = status  # "ok", "timeout", "signal N", "rc N"
        self.wall = wall
        self.maxrss_kib = maxrss_kib
        self.values = values
        self.stderr = stderr


def run_once(argv, env, timeout):
    """Runs argv through build/bench_exec in a session of its own and returns a Run.

    bench_exec forks the program, waits for it with wait4 and reports on fd 3 the wall time
    around it and its ru_maxrss (children included): a program forked straight from this
    driver would inherit the driver's resident high-water mark. The driver waits for
    bench_exec with os.wait4, and kills the whole session when the time limit passes."""
    env = dict(env)
    if "LD_PRELOAD" in env:
        env["BENCH_PRELOAD"] = env.pop("LD_PRELOAD")
    cmd = [os.path.join(BUILD, "bench_exec")] + list(argv)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as res:
        t0 = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, env,
                             file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                           (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
                                           (os.POSIX_SPAWN_DUP2, res.fileno(), 3)],
                             setsid=True)
        fired = []

        def kill():
            fired.append(1)
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            os.wait4(pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - t0
        for f in (out, err, res):
            f.seek(0)
        text = out.read().decode(errors="replace")
        etext = err.read().decode(errors="replace")
        rtext = res.read().decode(errors="replace")
    values = {}
    for m in re.finditer(r"^(\w+)=([-+0-9.eE]+)\s*$", text, re.M):
        values[m.group(1)] = float(m.group(2))
    meas = dict((k, float(v)) for k, v in re.findall(r"(\w+)=([-+0-9.eE]+)", rtext))
    # ft_heap --replay: its own time and peak rise, without the loading of the log.
    m = re.search(r"^  time ([0-9.]+) ms", text, re.M)
    if m:
        values["replay_s"] = float(m.group(1)) / 1e3
    m = re.search(r"^  peak RSS (\d+) kB \(\w+; (\d+) kB before the replay\)", text, re.M)
    if m:
        values["replay_peak_kib"] = float(int(m.group(1)) - int(m.group(2)))
    status = int(meas.get("status", -1))
    if fired:
        st = "timeout"
    elif status < 0:
        st = "bench_exec failed: " + etext.strip()[-200:]
    elif os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            st = "signal %d (%s)" % (sig, signal.Signals(sig).name)
        except ValueError:
            st = "signal %d" % sig
    elif os.WEXITSTATUS(status) != 0:
        st = "rc %d" % os.WEXITSTATUS(status)
    elif "cannot be preloaded" in etext:
        st = "preload ignored"
    else:
        st = "ok"
    r = Run(st, values.get("replay_s", meas.get("wall_s", wall)),
            int(values.get("replay_peak_kib", meas.get("maxrss_kib", 0))), values, etext)
    r.cpu = meas.get("user_s", 0.0) + meas.get("sys_s", 0.0)
    return r


def shell_cmd(alloc, argv, extra):
    envs = "".join("%s=%s " % kv for kv in extra.items())
    return alloc.prefix() + envs + " ".join(argv)



def bench(args, allocs, base_env):
    reps = args.reps or (3 if args.quick else 5)
    wl = workloads(args.quick, args.threads)
    if args.workloads:
        wl = [x for x in wl if x[0] in args.workloads]
    results = {}  # (workload, alloc) -> dict
    failures = []
    start = time.perf_counter()
    names = [a.name for a in allocs]
    print("load average at the start: %s (other work on the machine skews wall times)" % loadavg())
    print("%-14s %s" % ("workload", "  ".join("%9s" % n for n in names)) + "   (median wall s)")
    sys.stdout.flush()
    for wname, argv, extra, metric, desc in wl:
        env_extra = dict(extra)
        runs = {a.name: [] for a in allocs}
        dead = {}
        glibc_first = None
        if argv[0] == sys.executable or not argv[0].startswith(BUILD):
            # a real program: one untimed run first, so that no allocator pays for a cold cache
            run_once(argv, dict(base_env, **env_extra), 120.0)
        for rep in range(reps):
            order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
            for a in order:
                if a.name in dead:
                    continue
                env = a.env(base_env)
                env.update(env_extra)
                if args.timeout:
                    limit = args.timeout
                elif args.quick:
                    limit = min(20.0, max(5.0, 30 * glibc_first)) if glibc_first else 20.0
                else:
                    limit = min(60.0, max(10.0, 30 * glibc_first)) if glibc_first else 60.0
                r = run_once(argv, env, limit)
                if a.name == GLIBC and glibc_first is None and r.status == "ok":
                    glibc_first = r.wall
                if r.status != "ok":
                    detail = r.status + (" after %g s" % limit if r.status == "timeout" else "")
                    dead[a.name] = detail
                    cmd = shell_cmd(a, argv, env_extra)
                    failures.append((wname, a.name, detail, cmd, r.stderr.strip()[-600:]))
                    print("  !! %s under %s: %s\n     reproduce: %s%s" % (
                        wname, a.name, detail, cmd,
                        ("\n     stderr: " + r.stderr.strip()[-300:].replace("\n", "\n     ")
                         if r.stderr.strip() else "")))
                    continue
                runs[a.name].append(r)
        cells = []
        for a in allocs:
            rs = runs[a.name]
            res = {
                "status": dead.get(a.name, "ok"),
                "times": [r.wall for r in rs],
                "time": median_or_none([r.wall for r in rs]) if a.name not in dead else None,
                "maxrss": median_or_none([r.maxrss_kib for r in rs]),
                "cpu": median_or_none([r.cpu for r in rs]),
                "metric": metric,
                "value": (median_or_none([r.values[metric] for r in rs if metric in r.values])
                          if metric and a.name not in dead else None),
                "ops": rs[0].values.get("ops") if rs else None,
                "live_kib": rs[0].values.get("live_kib") if rs else None,
                "cmd": shell_cmd(a, argv, env_extra),
            }
            results[(wname, a.name)] = res
            cells.append("%9s" % ("%.3f" % res["time"] if res["time"] is not None else "FAIL"))
        print("%-14s %s" % (wname, "  ".join(cells)))
        sys.stdout.flush()
    elapsed = time.perf_counter() - start
    return wl, results, failures, reps, elapsed
