// ft_heap: runs a program with ft_malloc preloaded and its reports turned on, prints a call log,
// or replays one against whichever allocator is loaded.
//
//   ft_heap [options] [--] PROG [ARGS...]   options -> FT_MALLOC_* variables, then exec PROG
//   ft_heap --print FILE                    the call log (FT_MALLOC_TRACE) as text
//   ft_heap --replay FILE                   the same calls, same threads, timed
//
// This file: the usage, the options, the dispatch to the modes and the launcher (the library
// found, LD_PRELOAD set, PROG exec'ed). The log is read in call_log_reader.cpp, printed in
// print.cpp and replayed in replay.cpp.
//
// A standalone program (not part of the library): stdio and the C library are fine here. C-style
// C++ linked with the C driver, so nothing from libstdc++ is needed.
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tools/ft_heap/print.h"
#include "tools/ft_heap/replay.h"

#ifndef FT_HOSTTYPE
#define FT_HOSTTYPE ""
#endif

namespace {

// ---------------------------------------------------------------------------------------------
// Usage and options
// ---------------------------------------------------------------------------------------------

#define FT_HEAP_SYNOPSIS                                                                    \
  "usage: ft_heap [options] [--] PROG [ARGS...]   run PROG with ft_malloc preloaded\n"     \
  "       ft_heap --print FILE                    print a call log (--trace) as text\n"    \
  "       ft_heap --replay FILE                   replay a call log in this process, timed\n"

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
    "  --out FILE         reports appended to FILE, not stderr        [FT_MALLOC_OUT]\n"
    "  --every SECONDS    a one-line summary every SECONDS            [FT_MALLOC_EVERY]\n"
    "  --trace FILE       log every call to FILE (fork children:      [FT_MALLOC_TRACE]\n"
    "                     FILE.<pid>); read it with --print or --replay\n"
    "  --help             this text\n"
    "\n"
    "The library is libft_malloc_<HOSTTYPE>.so next to ft_heap or in ../lib from it;\n"
    "FT_HEAP_LIB=PATH overrides. PROG's exit status is ft_heap's.\n"
    "--replay runs against the allocator loaded in ft_heap: plain for glibc, or\n"
    "  LD_PRELOAD=.../libft_malloc_<HOSTTYPE>.so ft_heap --replay FILE\n";

[[noreturn]] void usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "ft_heap: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n%s(ft_heap --help lists the options)\n", FT_HEAP_SYNOPSIS);
  exit(2);
}

struct SignalName {
  const char *name;
  int number;
};
const SignalName kSignals[] = {
    {"HUP", SIGHUP},     {"INT", SIGINT},       {"QUIT", SIGQUIT}, {"ILL", SIGILL},   {"TRAP", SIGTRAP},
    {"ABRT", SIGABRT},   {"BUS", SIGBUS},       {"FPE", SIGFPE},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},   {"PIPE", SIGPIPE},     {"ALRM", SIGALRM}, {"TERM", SIGTERM}, {"CHLD", SIGCHLD},
    {"CONT", SIGCONT},   {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU}, {"URG", SIGURG},
    {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH}, {"IO", SIGIO},         {"PWR", SIGPWR},   {"SYS", SIGSYS},
};

// "USR1", "SIGUSR1", "usr1" or "10": the number; -1 for a signal that cannot be caught (KILL,
// STOP) or out of range; 0 when the word is not a signal at all.
int parse_signal(const char *s) {
  if (!s || !*s) return 0;
  int v = 0;
  if (s[0] >= '0' && s[0] <= '9') {
    char *end;
    long l = strtol(s, &end, 10);
    if (*end) return 0;
    v = l < 1 || l > SIGRTMAX ? -1 : static_cast<int>(l);
  } else {
    if (!strncasecmp(s, "SIG", 3)) s += 3;
    if (!strcasecmp(s, "KILL") || !strcasecmp(s, "STOP")) return -1;
    for (const SignalName &n : kSignals)
      if (!strcasecmp(s, n.name)) v = n.number;
  }
  return v == SIGKILL || v == SIGSTOP ? -1 : v;
}

// FILE made absolute against the current directory (the program may chdir).
char *absolute(const char *path) {
  if (path[0] == '/') return strdup(path);
  char cwd[PATH_MAX];
  if (!getcwd(cwd, sizeof cwd)) {
    fprintf(stderr, "ft_heap: getcwd: %s\n", strerror(errno));
    exit(1);
  }
  size_t n = strlen(cwd) + strlen(path) + 2;
  char *out = static_cast<char *>(malloc(n));
  snprintf(out, n, "%s/%s", strcmp(cwd, "/") ? cwd : "", path);
  return out;
}

bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

// The library: FT_HEAP_LIB, else next to this executable, else in ../lib from it (installed).
char *find_library() {
  if (const char *env = getenv("FT_HEAP_LIB")) {
    if (!*env || !is_file(env)) {
      fprintf(stderr, "ft_heap: FT_HEAP_LIB=%s: no such library\n", env);
      exit(1);
    }
    return absolute(env);
  }
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    fprintf(stderr, "ft_heap: cannot read /proc/self/exe: %s (set FT_HEAP_LIB)\n", strerror(errno));
    exit(1);
  }
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  *slash = 0;
  struct utsname u;
  char host[2][256];
  snprintf(host[0], sizeof host[0], "%s", FT_HOSTTYPE);
  host[1][0] = 0;
  if (uname(&u) == 0) snprintf(host[1], sizeof host[1], "%s_%s", u.machine, u.sysname);
  const char *dirs[] = {"", "/../lib"};
  char path[PATH_MAX + 600];
  for (const char *dir : dirs) {
    for (const char *h : host) {
      if (!*h) continue;
      snprintf(path, sizeof path, "%s%s/libft_malloc_%s.so", exe, dir, h);
      if (is_file(path)) {
        char *real = realpath(path, nullptr);
        return real ? real : strdup(path);
      }
    }
  }
  fprintf(stderr, "ft_heap: cannot find libft_malloc_%s.so in %s or %s/../lib (set FT_HEAP_LIB)\n",
          *host[0] ? host[0] : host[1], exe, exe);
  exit(1);
}

void set(const char *name, const char *value) {
  if (setenv(name, value, 1) != 0) {
    fprintf(stderr, "ft_heap: setenv %s: %s\n", name, strerror(errno));
    exit(1);
  }
}

}  // namespace

int main(int argc, char **argv) {
  if (argc < 2) usage_error("%s", "no program given");
  // The modes that run nothing.
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    fputs(kUsage, stdout);
    return 0;
  }
  const char *modes[] = {"--print", "--replay"};
  for (const char *mode : modes) {
    size_t len = strlen(mode);
    if (strncmp(argv[1], mode, len) != 0 || (argv[1][len] && argv[1][len] != '=')) continue;
    const char *file = argv[1][len] ? argv[1] + len + 1 : argc > 2 ? argv[2] : "";
    if (!*file || argc != (argv[1][len] ? 2 : 3)) usage_error("%s needs exactly one FILE", mode);
    return mode[2] == 'p' ? ft_heap::print_log(file) : ft_heap::replay_log(file);
  }

  int i = 1;
  const char *trace = nullptr;
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
      if (!v && i + 1 < argc && parse_signal(argv[i + 1])) v = argv[++i];
      int sig = v ? parse_signal(v) : SIGUSR1;
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
    } else if (!strcmp(name, "--svg") || !strcmp(name, "--json") || !strcmp(name, "--out") ||
               !strcmp(name, "--trace")) {
      const char *v = value();
      if (!*v) usage_error("%s needs a file name", name);
      char *path = absolute(v);
      const char *var = !strcmp(name, "--svg") ? "FT_MALLOC_SVG" : !strcmp(name, "--json") ? "FT_MALLOC_JSON"
                        : !strcmp(name, "--out") ? "FT_MALLOC_OUT" : "FT_MALLOC_TRACE";
      set(var, path);
      if (!strcmp(name, "--trace")) trace = path;
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

  char *lib = find_library();
  const char *old = getenv("LD_PRELOAD");
  if (old && *old) {
    size_t n = strlen(lib) + strlen(old) + 2;
    char *both = static_cast<char *>(malloc(n));
    snprintf(both, n, "%s:%s", lib, old);
    set("LD_PRELOAD", both);
  } else {
    set("LD_PRELOAD", lib);
  }
  // The program's log starts fresh under FILE (an old one would send it to FILE.<pid>).
  if (trace) unlink(trace);
  execvp(argv[i], argv + i);
  int e = errno;
  fprintf(stderr, "ft_heap: %s: %s\n", argv[i], strerror(e));
  return e == ENOENT ? 127 : 126;
}
