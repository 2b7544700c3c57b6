"""LD_PRELOAD of the .so under real programs (ls, sh, python3, git, gcc, sort, awk, sqlite3, perl,
make, tar): the same output as without it, and no report from ft_malloc.
"""

import os
import re
import shutil
import sys
import tempfile

from runner.core import (BINARIES, Fail, LIB_SO, TEST_DIR, TIMEOUT, base_env, describe_rc, fail_reason, have,
                         register, run)


# ---- LD_PRELOAD real programs ----------------------------------------------------------------------

def preload_compare(script, setup=None, timeout=TIMEOUT, env_extra=None):
    """Runs a shell script in a fresh directory, without and then with LD_PRELOAD (same directory path):
    stdout and exit status must match; ft_malloc must report nothing."""
    def fn():
        if not os.path.exists(LIB_SO):
            raise Fail("%s missing" % LIB_SO)
        outs = []
        with tempfile.TemporaryDirectory(prefix="ft_preload_") as tmp:
            work = os.path.join(tmp, "w")
            for preload in (None, LIB_SO):
                if os.path.exists(work):
                    shutil.rmtree(work)
                os.makedirs(work)
                if setup:
                    setup(work)
                extra = dict(env_extra or {})
                extra["HOME"] = tmp
                env = base_env(LD_PRELOAD=preload, **extra)
                r = run(script, shell=True, cwd=work, env=env, timeout=timeout)
                outs.append(r)
        ref, got = outs
        if re.search(r"^ft_malloc: ", got.err, re.M):
            raise Fail("ft_malloc reported: " + re.search(r"^ft_malloc: .*", got.err, re.M).group(0), got.log())
        if got.rc != ref.rc:
            raise Fail("exit status %s with ft_malloc, %s without" % (describe_rc(got.rc), describe_rc(ref.rc)),
                       ref.log() + "\n" + got.log())
        if ref.rc != 0:
            raise Fail("the reference run (without ft_malloc) failed: %s" % describe_rc(ref.rc), ref.log())
        if got.out != ref.out:
            a, b = ref.out.splitlines(), got.out.splitlines()
            i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
            raise Fail("stdout differs from the run without ft_malloc at line %d" % (i + 1),
                       ref.log() + "\n" + got.log())
    return fn


def test_preload_probe():
    path = BINARIES["probe_plain"].require()
    r = run([path], env=base_env(LD_PRELOAD=LIB_SO))
    if r.rc != 0:
        raise Fail(fail_reason(r), r.log())
    m = re.search(r"^PTR 0x([0-9a-f]+) 0x([0-9a-f]+)$", r.out, re.M)
    if not m:
        raise Fail("no PTR line", r.log())
    p, s = int(m.group(1), 16), int(m.group(2), 16)
    lines = r.out.splitlines()
    for addr, size in ((p, 4321), (s, 6)):
        if "0x%X - 0x%X : %d bytes" % (addr, addr + size, size) not in lines:
            raise Fail("preloaded: block 0x%X of %d bytes not in show_alloc_mem" % (addr, size), r.log())


register("preload/probe_uses_ft_malloc", test_preload_probe, ["probe_plain"])


def gen_sort_input(work):
    with open(os.path.join(work, "lines.txt"), "w") as f:
        x = 12345
        for i in range(100000):
            x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
            f.write("%016x %d %s\n" % (x, i % 977, "w" * (x % 50)))


def gen_tree(work):
    d = os.path.join(work, "data")
    for i in range(120):
        sub = os.path.join(d, "d%02d" % (i % 7))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%03d.bin" % i), "wb") as f:
            x = i + 1
            chunk = bytearray()
            for k in range((i * 977) % 40000 + 100):
                x = (x * 1103515245 + 12345) & 0x7FFFFFFF
                chunk.append((x >> 16) & 0xFF if k % 3 else 65 + k % 26)
            f.write(bytes(chunk))


def gen_make_project(work):
    """A small C project: 8 modules, a header, a Makefile (make -j2 runs two compilers at a time)."""
    names = ["m%d" % i for i in range(8)]
    with open(os.path.join(work, "mods.h"), "w") as f:
        f.write("".join("long %s(long);\n" % n for n in names))
    for i, n in enumerate(names):
        with open(os.path.join(work, n + ".c"), "w") as f:
            f.write('#include <stdlib.h>\n#include <string.h>\n#include "mods.h"\n'
                    "long %s(long x)\n{\n    char *p = malloc(1000 + x %% 100);\n    memset(p, %d, 1000);\n"
                    "    long s = 0;\n    for (int k = 0; k < 1000; k++) s += p[k] * (k %% 7 + x);\n"
                    "    free(p);\n    return s;\n}\n" % (n, i + 1))
    with open(os.path.join(work, "main.c"), "w") as f:
        f.write('#include <stdio.h>\n#include "mods.h"\nint main(void)\n{\n'
                + "".join('    printf("%s %%ld\\n", %s(%d));\n' % (n, n, i * 13) for i, n in enumerate(names))
                + "    return 0;\n}\n")
    objs = " ".join(n + ".o" for n in names + ["main"])
    with open(os.path.join(work, "Makefile"), "w") as f:
        f.write("CFLAGS = -O2 -Wall\nprog: %s\n\t$(CC) -o $@ $^\n%%.o: %%.c mods.h\n\t$(CC) $(CFLAGS) -c $< -o $@\n"
                "clean:\n\trm -f prog *.o\n" % objs)


GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com", "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "test@example.com", "GIT_AUTHOR_DATE": "2024-01-02T03:04:05 +0000",
           "GIT_COMMITTER_DATE": "2024-01-02T03:04:05 +0000", "GIT_CONFIG_NOSYSTEM": "1", "TZ": "UTC"}
GIT_SCRIPT = r"""set -e
git -c init.defaultBranch=main init -q repo
cd repo
git config user.name Test
git config user.email test@example.com
i=1
while [ $i -le 40 ]; do echo "line $i" > f$i.txt; i=$((i+1)); done
git add .
git commit -q -m first
i=1
while [ $i -le 15 ]; do echo "more $i" >> f$i.txt; git commit -q -am "change $i"; i=$((i+1)); done
git log --oneline
git log --stat -3
git diff HEAD~5 --stat
git gc -q
git rev-list --all | wc -l
git fsck --no-progress 2>&1
git cat-file -p HEAD
"""

PRELOADS = [
    ("ls", ["ls"], "ls -la /usr/bin; ls -laR /usr/include | head -2000", None, None),
    ("sh_loop", ["sh"], r"""sh -c 'i=0; s=; while [ $i -lt 3000 ]; do s="$s$i,"; i=$((i+1)); done; echo ${#s};
        for w in $(seq 1 3000); do x=$(( w * w )); done; echo $x; set -- $(seq 1 500); echo $#'""", None, None),
    ("python3", [], "'%s' '%s'" % (sys.executable, os.path.join(TEST_DIR, "heap_script.py")), None,
     {"PYTHONHASHSEED": "0"}),
    ("git", ["git"], GIT_SCRIPT, None, GIT_ENV),
    ("gcc", ["gcc"], "gcc -O2 -Wall '%s' -o hello && ./hello" % os.path.join(TEST_DIR, "preload", "hello.c"), None,
     None),
    ("gxx_stl", ["g++"], "g++ -O2 -Wall '%s' -o stl && ./stl" % os.path.join(TEST_DIR, "preload", "stl.cpp"), None,
     None),
    ("sort", ["sort"], "sort lines.txt | md5sum; sort -S 2M --parallel=2 -k2,2n -k1,1 lines.txt | tail -5", gen_sort_input,
     None),
    ("awk", ["awk"], r"""awk 'BEGIN { for (i = 0; i < 200000; i++) { k = i % 1000; s[k] += i; t[k] = t[k] "x"; u["key" i] = i }
        for (k = 0; k < 1000; k++) printf "%d %d %d\n", k, s[k], length(t[k]); n = 0; for (x in u) n++; print n }'""",
     None, None),
    ("sqlite3", ["sqlite3"], r"""sqlite3 :memory: "CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB);
        WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 50000)
        INSERT INTO t SELECT x, printf('k%05d', (x * 7919) % 10007), zeroblob(x % 700) FROM c;
        CREATE INDEX ik ON t(k);
        SELECT count(*), sum(length(v)), count(DISTINCT k) FROM t;
        SELECT k, count(*), sum(id) FROM t GROUP BY k ORDER BY k LIMIT 5;
        DELETE FROM t WHERE id % 3 = 0; VACUUM; SELECT count(*), max(k) FROM t;" """, None, None),
    ("perl", ["perl"], r"""perl -e 'my %h; for my $i (1..200000) { $h{"k" . ($i * 7919 % 50000)} .= "x" }
        my $t = 0; $t += length($h{$_}) for sort keys %h; print scalar(keys %h), " $t\n";
        my @a = sort { $a <=> $b } map { ($_ * 2654435761) % 1000003 } 1..100000; print "$a[0] $a[-1] $a[5000]\n";
        my $s = join(",", map { "v$_" } 1..50000); my @p = split /,/, $s; print scalar(@p), " ", length($s), "\n";'""",
     None, None),
    ("python3_threads", [], "'%s' '%s'" % (sys.executable, os.path.join(TEST_DIR, "preload", "threads_script.py")),
     None, {"PYTHONHASHSEED": "0"}),
    ("make_j2", ["make", "gcc"], "make -s -j2 && ./prog && make -s -j2 clean && ls", gen_make_project, None),
    ("tar_xz", ["tar", "xz", "md5sum"], r"""set -e
        tar -cf - data | xz -T2 -6 > a.tar.xz
        mkdir out
        xz -d -T2 < a.tar.xz | tar -xf - -C out
        diff -r data out/data && echo same
        cd out && find data -type f | sort | xargs md5sum""", gen_tree, None),
]

for name, progs, script, setup, env_extra in PRELOADS:
    if have(*progs):
        register("preload/%s" % name, preload_compare(script, setup, timeout=90, env_extra=env_extra), [], timeout=90)
