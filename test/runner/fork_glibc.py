"""Fork safety (test/fork_safety.c), glibc's calls (test/glibc_api.c), settings, and static
linking: each program linked with -lft_malloc, linked statically, and plain under LD_PRELOAD.
"""

import os
import re
import shutil
import signal
import tempfile

from runner.core import (BINARIES, Fail, LIB_SO, base_env, c_case, case_names, describe_rc, expected_class,
                         fail_reason, register, run)


# ---- fork, glibc's calls, settings, static linking ------------------------------------------------

# Each program three ways: linked with -lft_malloc, linked statically, and plain under LD_PRELOAD.
LINKINGS = [("linked", "%s", None), ("static", "%s_static", None), ("preload", "%s_plain", "so")]


def linking_env(how, **extra):
    return base_env(LD_PRELOAD=LIB_SO if how == "so" else None, **extra)


# The fork scenarios run thousands of forks; a hang is the time limit passing.
# Without the thread cache: the stdio case is about other threads (its lock order does not change),
# and the fast paths and the threads' own zones exist only with a cache.
ONLY_WITH_TCACHE = ("fork_against_stdio", "fork_while_threads_allocate", "signal_fork_inside_fast_paths")
# Thousands of forks of a process whose other threads never pause: a few seconds alone, minutes on a
# loaded machine of two cores (fork_against_stdio took 180 s under a load of 17). A hang never ends.
FORK_TIMEOUT = 300
for label, fmt, how in LINKINGS:
    for case in case_names("test/fork_safety.c"):
        for tc in (None, "0"):
            if tc and case in ONLY_WITH_TCACHE:
                continue
            name = "fork/%s/%s%s" % (label, case, "_no_tcache" if tc else "")
            register(name, c_case(fmt % "fork_safety", case, timeout=FORK_TIMEOUT,
                                  env=linking_env(how, FT_MALLOC_TCACHE=tc)),
                     [fmt % "fork_safety"], timeout=FORK_TIMEOUT)

GLIBC_API_CASES = ("mallinfo_counts_our_heap", "mallinfo_clamps_to_int_max", "malloc_info_rejects_options")


def check_malloc_info(r):
    """malloc_info(0, stdout): well-formed XML with the program's 10,000 blocks of 1000 B and its
    5 MiB LARGE block in it."""
    m = re.search(r"^XML BEGIN\n(.*)^XML END$", r.out, re.M | re.S)
    held = re.search(r"^HELD (\d+) (\d+) (\d+)$", r.out, re.M)
    if not m or not held:
        raise Fail("no XML between the markers")
    import xml.dom.minidom
    try:
        doc = xml.dom.minidom.parseString(m.group(1))
    except Exception as e:  # noqa: BLE001 - any parse error is the failure
        raise Fail("malloc_info's output is not well-formed XML: %s" % e)
    top = doc.documentElement
    if top.tagName != "malloc" or top.getAttribute("allocator") != "ft_malloc":
        raise Fail("the root element is <%s allocator=%r>, not ft_malloc's <malloc>" % (
            top.tagName, top.getAttribute("allocator")))
    blocks, size, large = (int(x) for x in held.groups())
    cls = [c for c in top.getElementsByTagName("class") if int(c.getAttribute("size")) == expected_class(size)]
    if not cls or int(cls[0].getAttribute("blocks")) < blocks or int(cls[0].getAttribute("bytes")) < blocks * size:
        raise Fail("<class size=%d> does not show the %d blocks of %d B" % (expected_class(size), blocks, size))
    lg = top.getElementsByTagName("large")
    if not lg or int(lg[0].getAttribute("blocks")) < 1 or int(lg[0].getAttribute("bytes")) < large:
        raise Fail("<large> does not show the %d-byte block" % large)
    live = top.getElementsByTagName("live")
    if not live or int(live[0].getAttribute("bytes")) < blocks * size + large:
        raise Fail("<live> holds fewer bytes than the program does")
    for t in ("cache", "reserve", "heap"):
        if not top.getElementsByTagName(t):
            raise Fail("no <%s> element" % t)
    for t in top.getElementsByTagName("total"):
        if t.getAttribute("type") == "mmap" and int(t.getAttribute("size")) < large:
            raise Fail("<total type=\"mmap\"> is smaller than the LARGE block")
    if shutil.which("xmllint"):
        with tempfile.NamedTemporaryFile("w", suffix=".xml", delete=False) as f:
            f.write(m.group(1))
        try:
            x = run(["xmllint", "--noout", f.name])
            if x.rc != 0:
                raise Fail("xmllint rejects malloc_info's output: %s" % x.err.strip()[:300])
        finally:
            os.unlink(f.name)


for label, fmt, how in LINKINGS:
    for case in GLIBC_API_CASES:
        register("glibc_api/%s/%s" % (label, case), c_case(fmt % "glibc_api", case, env=linking_env(how)),
                 [fmt % "glibc_api"])
    register("glibc_api/%s/malloc_info_xml" % label,
             c_case(fmt % "glibc_api", "malloc_info_xml", env=linking_env(how), check=check_malloc_info),
             [fmt % "glibc_api"])

# The api suite statically linked, and preloaded into a program built without ft_malloc: everything
# it checks holds there too (the errno of failed aligned allocations, every alignment swept, ...).
for case in case_names(BINARIES["api"].src):
    register("static/api/%s" % case, c_case("api_static", case), ["api_static"])
    register("preload/api/%s" % case, c_case("api_plain", case, env=linking_env("so")), ["api_plain"])

SETTING_LINE = re.compile(r"^ft_malloc: (FT_MALLOC_\w+)=(.*): not (.+); using (.+)$")


def settings_run(how, binary_fmt, case, **env):
    path = BINARIES[binary_fmt % "glibc_api"].require()
    return run([path, case], env=linking_env(how, **env))


def test_bad_values(label, fmt, how):
    """A value ft_malloc cannot use: one line naming the variable, the value and what is used instead;
    the default is then in effect."""
    def fn():
        bad = {"FT_MALLOC_ERRORS": "bogus", "FT_MALLOC_EVERY": "abc", "FT_MALLOC_STATS": "maybe",
               "FT_MALLOC_DUMP": "2", "FT_MALLOC_DUMP_SIGNAL": "NOSUCHSIG", "FT_MALLOC_TCACHE": "x"}
        r = settings_run(how, fmt, "settings_probe", **bad)
        if r.rc != 0 or "PROBE OK" not in r.out:
            raise Fail("the program did not run: %s" % fail_reason(r), r.log())
        lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]
        seen = {}
        for l in lines:
            m = SETTING_LINE.match(l)
            if not m:
                raise Fail("unexpected line %r" % l, r.log())
            seen[m.group(1)] = m.group(2)
        for var, value in bad.items():
            if seen.get(var) != value:
                raise Fail("no `ft_malloc: %s=%s: not ...; using ...` line" % (var, value), r.log())
        if len(lines) != len(bad):
            raise Fail("%d lines for %d bad values" % (len(lines), len(bad)), r.log())
        if "statistics" in r.err:
            raise Fail("FT_MALLOC_STATS=maybe printed statistics (the default is off)", r.log())
        d = settings_run(how, fmt, "settings_double_free", FT_MALLOC_ERRORS="bogus")
        if d.rc != -signal.SIGABRT or "CONTINUED" in d.out:
            raise Fail("FT_MALLOC_ERRORS=bogus: a double free did not abort (the default): %s" % describe_rc(d.rc),
                       d.log())
    return fn


def test_unknown_name(label, fmt, how):
    """A name that starts with FT_MALLOC_ but is none of ours (a typo) is reported, once."""
    def fn():
        r = settings_run(how, fmt, "settings_probe", FT_MALLOC_STAT="1", FT_MALLOC_LEAK="1")
        lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc:")]
        for name in ("FT_MALLOC_STAT=1", "FT_MALLOC_LEAK=1"):
            got = [l for l in lines if l.startswith("ft_malloc: %s: unknown setting" % name)]
            if len(got) != 1:
                raise Fail("%d lines `ft_malloc: %s: unknown setting ...`" % (len(got), name), r.log())
        if len(lines) != 2 or r.rc != 0:
            raise Fail("expected exactly the two lines and exit 0", r.log())
    return fn


def test_verbose(label, fmt, how):
    """FT_MALLOC_VERBOSE=1: one line per setting with its effective value, once."""
    def fn():
        r = settings_run(how, fmt, "settings_probe", FT_MALLOC_VERBOSE="1", FT_MALLOC_ERRORS="warn",
                         FT_MALLOC_EVERY="7")
        lines = [l for l in r.err.splitlines() if l.startswith("ft_malloc: FT_MALLOC_")]
        names = [l.split("=", 1)[0][len("ft_malloc: "):] for l in lines]
        for want in ("ft_malloc: FT_MALLOC_ERRORS=warn", "ft_malloc: FT_MALLOC_EVERY=7",
                     "ft_malloc: FT_MALLOC_TCACHE=1", "ft_malloc: FT_MALLOC_VERBOSE=1"):
            if want not in lines:
                raise Fail("no line %r" % want, r.log())
        if len(names) != len(set(names)) or len(names) < 12:
            raise Fail("%d setting lines, %d distinct: expected every setting once" % (len(names), len(set(names))),
                       r.log())
        q = settings_run(how, fmt, "settings_probe")
        if "ft_malloc:" in q.err:
            raise Fail("without FT_MALLOC_VERBOSE the program printed settings", q.log())
    return fn


for label, fmt, how in LINKINGS:
    register("settings/%s/bad_values_named_and_defaulted" % label, test_bad_values(label, fmt, how),
             [fmt % "glibc_api"])
    register("settings/%s/unknown_name_reported" % label, test_unknown_name(label, fmt, how), [fmt % "glibc_api"])
    register("settings/%s/verbose_prints_settings" % label, test_verbose(label, fmt, how), [fmt % "glibc_api"])
