"""The preloaded library's own resident pages (src/os/fault_around.h, src/api/hot_text.ld): the
kernel maps a file's pages 64 KiB at a time around a fault, so that reading one constant made the
unwind tables resident and running malloc made a whole 64 KiB window of code resident, reports and
debug modes included (31 pages in all). Start-up makes the unwind tables, the warm text and the cold
text mappings of their own and drops the warm and cold text it ran: after a program that takes
every common route (test/preload/resident_pages.c), the unwind tables and the cold text hold no
page, and the library 19 (3 of headers, 5 of core text, 6 of warm, 3 of read-only data, 2
written); after one that only mallocs, callocs and frees in one thread, the warm text holds none
either (5 pages of code, not 11). Page counts, repeatable."""
from runner.core import BINARIES, Binary, Fail, LIB_SO, PAGE, base_env, have, register, run

BINARIES["resident_pages_plain"] = Binary("resident_pages_plain", "test/preload/resident_pages.c", link_ft=False)

# Today's 21 pages with room for a little growth of the hot text; the layout before (31) fails.
MAX_PAGES = 24
# The core text (src/base/compiler.h FT_CORE_TEXT): start-up, exit, malloc, calloc and free.
CORE_PAGES = 5


def library_mappings(*args):
    """The library's mappings after resident_pages ARGS: (kB, perms) each, in address order."""
    path = BINARIES["resident_pages_plain"].require()
    r = run([path] + list(args), env=base_env(LD_PRELOAD=LIB_SO))
    if r.rc != 0:
        raise Fail("exit status %d" % r.rc, r.log())
    maps = [(int(kb), perms) for kb, perms in (line.split() for line in r.out.splitlines())]
    shown = ", ".join("%s %d kB" % (perms, kb) for kb, perms in maps)
    return maps, shown


def library_pages():
    maps, shown = library_mappings()
    code = [kb for kb, perms in maps if "x" in perms]
    data = [kb for kb, perms in maps if perms == "r--p"]
    total = sum(kb for kb, _ in maps) * 1024 // PAGE
    # The core text, the warm text, the cold text.
    if len(code) != 3 or code[2] != 0:
        raise Fail("the cold text is not a mapping apart without pages: %s" % shown)
    # The headers, .rodata, the unwind tables and the RELRO part, in that order.
    if len(data) < 3 or data[2] != 0:
        raise Fail("the unwind tables are not a mapping apart without pages: %s" % shown)
    if total > MAX_PAGES:
        raise Fail("%d pages of the library resident (at most %d): %s" % (total, MAX_PAGES, shown))


register("preload/library_resident_pages", library_pages, ["resident_pages_plain"])


def core_pages():
    """A program that only mallocs, callocs and frees in one thread runs the core text alone:
    the warm text (realloc, aligned and LARGE blocks, threads, fork) and the cold text hold no
    page; a function of theirs on malloc's or free's common route would fault its part in."""
    maps, shown = library_mappings("core")
    code = [kb for kb, perms in maps if "x" in perms]
    if len(code) != 3:
        raise Fail("the core, warm and cold text are not three mappings: %s" % shown)
    if code[1] != 0 or code[2] != 0:
        raise Fail("malloc, calloc and free ran code outside the core text: %s" % shown)
    if code[0] == 0:
        raise Fail("no page of the core text resident: the check reads nothing: %s" % shown)
    # Every program runs the core text whole: a sixth page is a page more in each of them (the
    # ninth round's retry after a refusal, inline in allocate_any, took it to six for a while).
    if code[0] > CORE_PAGES * PAGE // 1024:
        raise Fail("the core text holds %d kB, more than %d pages: %s" % (code[0], CORE_PAGES, shown))


register("preload/core_text_alone_serves_malloc_calloc_free", core_pages, ["resident_pages_plain"])


def breakpoint_survives():
    """Start-up drops the pages of the library's cold code that fault-around mapped: only the
    file's own pages (pagemap's file-page bit), never a private copy, such as the page a debugger
    wrote a breakpoint into when the library was loaded, before start-up ran. gdb's pending
    breakpoint on a function of the cold text (the statistics' report at exit) must fire."""
    path = BINARIES["hello_plain"].require()
    script = ["set pagination off", "set breakpoint pending on",
              "set env LD_PRELOAD=%s" % LIB_SO, "set env FT_MALLOC_STATS=1", "set env FT_MALLOC_OUT=/dev/null",
              "break ft::stats::print_report", "run", "continue"]
    cmd = ["gdb", "-q", "-batch", "-nx"] + [a for line in script for a in ("-ex", line)] + [path]
    r = run(cmd, env=base_env())
    if "Breakpoint 1, ft::stats::print_report" not in r.out:
        raise Fail("the breakpoint in the cold text did not fire", r.log())


if have("gdb"):
    register("preload/breakpoint_in_cold_text_fires", breakpoint_survives, ["hello_plain"])
