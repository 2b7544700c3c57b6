// ft_heap: runs a program with ft_malloc preloaded and its reports turned on, and reads what it
// leaves: call logs, JSON snapshots.
//
//   ft_heap [options] [--] PROG [ARGS...]   options -> FT_MALLOC_* variables, then exec PROG
//   ft_heap --print FILE                    the call log (FT_MALLOC_TRACE) as text
//   ft_heap --replay FILE                   the same calls, same threads, timed
//   ft_heap --massif LOG OUT                the log's heap over time for ms_print, massif-visualizer
//   ft_heap --timeline LOG OUT.svg          the same as a picture
//   ft_heap --diff A.json B.json            what changed between two snapshots (FT_MALLOC_JSON)
//
// This file: the usage, the options and the dispatch to the modes. The program is run by
// launcher.cpp; the log is read in call_log_reader.cpp, printed in print.cpp, replayed in
// replay.cpp, charted in massif.cpp and timeline.cpp; snapshots are compared in diff.cpp and the
// --html page is built in html_report.cpp.
//
// A standalone program (not part of the library): stdio and the C library are fine here. C-style
// C++ linked with the C driver, so nothing from libstdc++ is needed.
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/ft_heap/charts.h"
#include "tools/ft_heap/diff.h"
#include "tools/ft_heap/html_report.h"
#include "tools/ft_heap/launcher.h"
#include "tools/ft_heap/print.h"
#include "tools/ft_heap/replay.h"

namespace {

#define FT_HEAP_SYNOPSIS                                                                      \
  "usage: ft_heap [options] [--] PROG [ARGS...]   run PROG with ft_malloc preloaded\n"       \
  "       ft_heap --print FILE                    print a call log (--trace) as text\n"      \
  "       ft_heap --replay FILE                   replay a call log in this process, timed\n" \
  "       ft_heap --massif LOG OUT                a call log's heap over time, for ms_print\n" \
  "       ft_heap --timeline LOG OUT.svg          the same as a picture\n"                   \
  "       ft_heap --diff A.json B.json            what changed between two --json snapshots\n"

const char kUsage[] =
    FT_HEAP_SYNOPSIS
    "\n"
    "options (each sets the FT_MALLOC_* variable in brackets):\n"
    "  --dump             show_alloc_mem() at exit                    [FT_MALLOC_DUMP=1]\n"
    "  --ex               show_alloc_mem_ex() at exit                 [FT_MALLOC_DUMP=ex]\n"
    "  --at-signal [SIG]  dump whenever SIG arrives (default USR1)    [FT_MALLOC_DUMP_SIGNAL]\n"
    "  --stats            allocation statistics at exit               [FT_MALLOC_STATS=1]\n"
    "  --leaks            blocks still live at exit, by call site     [FT_MALLOC_LEAKS=1]\n"
    "  --svg FILE         heap map (SVG) at exit                      [FT_MALLOC_SVG]\n"
    "  --json FILE        heap snapshot (JSON) at exit                [FT_MALLOC_JSON]\n"
    "  --folded FILE      live bytes per call stack at exit, for      [FT_MALLOC_FOLDED]\n"
    "                     flamegraph.pl, speedscope, inferno\n"
    "  --folded-alloc FILE  every byte allocated, per call stack      [FT_MALLOC_FOLDED_ALLOC]\n"
    "  --pprof FILE       heap profile for google-pprof, Go's pprof   [FT_MALLOC_PPROF]\n"
    "  --out FILE         reports appended to FILE, not stderr        [FT_MALLOC_OUT]\n"
    "  --every SECONDS    a one-line summary every SECONDS            [FT_MALLOC_EVERY]\n"
    "  --trace FILE       log every call to FILE (fork children:      [FT_MALLOC_TRACE]\n"
    "                     FILE.<pid>); read it with --print or --replay\n"
    "  --html FILE        one page with the heap map, the sizes, the top call sites and,\n"
    "                     with --trace, the timeline, written when PROG ends\n"
    "  --help             this text\n"
    "\n"
    "The library is libft_malloc_<HOSTTYPE>.so next to ft_heap or in ../lib from it;\n"
    "FT_HEAP_LIB=PATH overrides. PROG's exit status is ft_heap's; a file that cannot be\n"
    "read or written: one line naming it, status 2.\n"
    "--replay runs against the allocator loaded in ft_heap: plain for glibc, or\n"
    "  LD_PRELOAD=.../libft_malloc_<HOSTTYPE>.so ft_heap --replay FILE\n";

[[noreturn]] void usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "ft_heap: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n%s(ft_heap --help lists the options)\n", FT_HEAP_SYNOPSIS);
  exit(2);
}

// The modes that read files and run nothing.
struct FileMode {
  const char *name;
  const char *args;  // for the usage message
  int (*one)(const char *);
  int (*two)(const char *, const char *);
};
const FileMode kFileModes[] = {
    {"--print", "FILE", ft_heap::print_log, nullptr},
    {"--replay", "FILE", ft_heap::replay_log, nullptr},
    {"--massif", "LOG OUT", nullptr, ft_heap::massif_from_log},
    {"--timeline", "LOG OUT.svg", nullptr, ft_heap::timeline_from_log},
    {"--diff", "A.json B.json", nullptr, ft_heap::diff_snapshots},
};

// Runs argv[1]'s file mode, if it is one (--print FILE, --print=FILE, --massif LOG OUT); -1 if not.
int file_mode(int argc, char **argv) {
  for (const FileMode &m : kFileModes) {
    size_t len = strlen(m.name);
    if (strncmp(argv[1], m.name, len) != 0 || (argv[1][len] && argv[1][len] != '=')) continue;
    if (m.one) {
      const char *file = argv[1][len] ? argv[1] + len + 1 : argc > 2 ? argv[2] : "";
      if (!*file || argc != (argv[1][len] ? 2 : 3)) usage_error("%s needs exactly one FILE", m.name);
      return m.one(file);
    }
    if (argv[1][len] || argc != 4 || !*argv[2] || !*argv[3]) {
      static char what[64];
      snprintf(what, sizeof what, "%s needs %s", m.name, m.args);
      usage_error("%s", what);
    }
    return m.two(argv[2], argv[3]);
  }
  return -1;
}

// Options that name an output file, and their variables.
struct FileOption {
  const char *name, *var;
};
const FileOption kFileOptions[] = {
    {"--svg", "FT_MALLOC_SVG"},       {"--json", "FT_MALLOC_JSON"},
    {"--folded", "FT_MALLOC_FOLDED"}, {"--folded-alloc", "FT_MALLOC_FOLDED_ALLOC"},
    {"--pprof", "FT_MALLOC_PPROF"},   {"--out", "FT_MALLOC_OUT"},
    {"--trace", "FT_MALLOC_TRACE"},   {"--html", nullptr},
};

void set(const char *name, const char *value) { ft_heap::set_env(name, value); }

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) usage_error("%s", "no program given");
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(kUsage, stdout);
    return 0;
  }
  int status = file_mode(argc, argv);
  if (status >= 0) return status;

  int i = 1;
  const char *trace = nullptr, *html = nullptr;
  for (; i < argc; ++i) {
    char *arg = argv[i];
    if (!strcmp(arg, "--")) {
      ++i;
      break;
    }
    if (arg[0] != '-' || !arg[1]) break;  // the program
    // --name VALUE or --name=VALUE
    char name[64];
    const char *inline_value = nullptr;
    const char *eq = strchr(arg, '=');
    size_t len = eq ? static_cast<size_t>(eq - arg) : strlen(arg);
    if (len >= sizeof name) usage_error("unknown option %s", arg);
    memcpy(name, arg, len);
    name[len] = 0;
    if (eq) inline_value = eq + 1;
    auto value = [&]() -> const char * {
      if (inline_value) return inline_value;
      if (i + 1 >= argc) usage_error("%s needs a value", name);
      return argv[++i];
    };
    auto no_value = [&]() {
      if (inline_value) usage_error("%s takes no value", name);
    };
    const FileOption *file_option = nullptr;
    for (const FileOption &o : kFileOptions)
      if (!strcmp(name, o.name)) file_option = &o;
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
      fputs(kUsage, stdout);
      return 0;
    } else if (!strcmp(name, "--dump")) {
      no_value();
      if (!getenv("FT_MALLOC_DUMP") || strcmp(getenv("FT_MALLOC_DUMP"), "ex")) set("FT_MALLOC_DUMP", "1");
    } else if (!strcmp(name, "--ex")) {
      no_value();
      set("FT_MALLOC_DUMP", "ex");
    } else if (!strcmp(name, "--at-signal")) {
      // The signal is optional: the next word is taken only when it names one.
      const char *v = inline_value;
      if (!v && i + 1 < argc && ft_heap::parse_signal(argv[i + 1])) v = argv[++i];
      int sig = v ? ft_heap::parse_signal(v) : SIGUSR1;
      if (sig <= 0) usage_error("--at-signal: %s is not a signal that can be caught", v);
      char num[16];
      snprintf(num, sizeof num, "%d", sig);
      set("FT_MALLOC_DUMP_SIGNAL", num);
    } else if (!strcmp(name, "--stats")) {
      no_value();
      set("FT_MALLOC_STATS", "1");
    } else if (!strcmp(name, "--leaks")) {
      no_value();
      set("FT_MALLOC_LEAKS", "1");
    } else if (file_option) {
      const char *v = value();
      if (!*v) usage_error("%s needs a file name", name);
      char *path = ft_heap::absolute(v);
      // Files replaced at exit must be writable: said now, while ft_heap can still say it.
      bool replaced = strcmp(name, "--out") && strcmp(name, "--trace");
      if (replaced && !ft_heap::can_write(path)) return ft_heap::kBadFile;
      if (file_option->var) set(file_option->var, path);
      if (!strcmp(name, "--trace")) trace = path;
      if (!strcmp(name, "--html")) html = path;
    } else if (!strcmp(name, "--every")) {
      const char *v = value();
      char *end;
      long s = strtol(v, &end, 10);
      if (!*v || *end || s <= 0 || s > 86400 * 365) usage_error("--every: %s is not a number of seconds", v);
      set("FT_MALLOC_EVERY", v);
    } else {
      usage_error("unknown option %s", arg);
    }
  }
  if (i >= argc) usage_error("%s", "no program given");

  // The program's log starts fresh under FILE (an old one would send it to FILE.<pid>).
  if (trace) unlink(trace);
  if (!html) return ft_heap::run_program(argv + i, false);
  ft_heap::HtmlInputs in;
  if (!ft_heap::prepare_html(html, trace, &in)) return ft_heap::kBadFile;
  status = ft_heap::run_program(argv + i, true);
  int written = ft_heap::write_html(in, argv + i);
  return written ? written : status;
}
