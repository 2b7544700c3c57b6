#include "base/settings.h"
#include "base/compiler.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "base/line_writer.h"
#include "base/valgrind_hooks.h"

namespace ft {

constinit Config g_config;
FT_BIG_TABLE constinit ReportPaths g_paths = {};

namespace {

// Before the C library sets `environ` (an allocation from a .preinit_array function, as the
// sanitizer runtimes make), the variables are read from /proc/self/environ instead: once, into a
// static buffer, without allocating.
constexpr size_t kEnvironBytes = 64 * 1024;
FT_BIG_TABLE constinit char g_environ_copy[kEnvironBytes] = {};
constinit size_t g_environ_len = 0;

FT_CORE_TEXT const char *early_env(const char *name) {
  if (getauxval(AT_SECURE)) return nullptr;  // as secure_getenv
  if (!g_environ_len) {
    int fd = open("/proc/self/environ", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return nullptr;
    ssize_t n;
    while (g_environ_len < kEnvironBytes - 1 &&
           (n = read(fd, g_environ_copy + g_environ_len, kEnvironBytes - 1 - g_environ_len)) > 0)
      g_environ_len += static_cast<size_t>(n);
    close(fd);
    if (!g_environ_len) g_environ_len = 1;  // empty: do not read again
  }
  size_t len = strlen(name);
  for (size_t i = 0; i < g_environ_len; i += strlen(g_environ_copy + i) + 1)
    if (!strncmp(g_environ_copy + i, name, len) && g_environ_copy[i + len] == '=') return g_environ_copy + i + len + 1;
  return nullptr;
}

// secure_getenv: a set-uid program ignores these, like glibc's MALLOC_ variables. Neither
// allocates.
FT_CORE_TEXT const char *env(const char *name) { return environ ? secure_getenv(name) : early_env(name); }

// ---- Every setting, its values and what a wrong value falls back to -------------------------
//
// One table: read_environment() parses each variable with its entry, reports a value it cannot
// use (naming the variable, the value and what is used instead) and any FT_MALLOC_ name that is
// not in the table (a typo), and FT_MALLOC_VERBOSE=1 prints what each one ended up as. All of it
// without allocating: the messages are written with write(2).

// Parses v into g_config; false when v is not a value of this setting (then the default stays).
using Parse = bool (*)(const char *v);
// Writes the setting's effective value.
using Show = void (*)(LineWriter &out);

struct Setting {
  const char *name;
  Parse parse;
  Show show;
  const char *accepted;  // what the values may be, for the message about a wrong one
  const char *fallback;  // what is used instead of a wrong value
};

bool parse_bool(const char *v, bool *out) {
  static constexpr const char *kOn[] = {"1", "yes", "on", "true"};
  static constexpr const char *kOff[] = {"0", "no", "off", "false"};
  for (const char *w : kOn)
    if (!strcasecmp(v, w)) return *out = true, true;
  for (const char *w : kOff)
    if (!strcasecmp(v, w)) return *out = false, true;
  return false;
}

// A whole non-negative decimal number that fits an unsigned.
bool parse_count(const char *v, unsigned *out) {
  if (!*v) return false;
  unsigned long n = 0;
  for (const char *c = v; *c; ++c) {
    if (*c < '0' || *c > '9') return false;
    n = n * 10 + static_cast<unsigned long>(*c - '0');
    if (n > 1000000000ul) return false;
  }
  *out = static_cast<unsigned>(n);
  return true;
}

// "USR1", "SIGUSR1" or a number from 1 to 64.
int signal_number(const char *v) {
  unsigned n;
  if (parse_count(v, &n)) return n >= 1 && n <= 64 ? static_cast<int>(n) : 0;
  if (!strncmp(v, "SIG", 3)) v += 3;
  static constexpr struct {
    const char *name;
    int number;
  } kNames[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP},    {"INT", SIGINT},
                {"QUIT", SIGQUIT}, {"TERM", SIGTERM}, {"ALRM", SIGALRM}, {"WINCH", SIGWINCH}};
  for (const auto &known : kNames)
    if (!strcmp(v, known.name)) return known.number;
  return 0;
}

// A file name, kept: the environment may change later.
bool parse_path(const char *v, char *dst) {
  size_t len = strlen(v);
  if (!len || len >= ReportPaths::kPathMax) return false;
  memcpy(dst, v, len + 1);
  return true;
}

void show_bool(LineWriter &out, bool b) { out.str(b ? "1" : "0"); }
void show_path(LineWriter &out, const char *p) { out.str(p[0] ? p : "(none)"); }

#define FT_FLAG(NAME, FIELD, WHAT)                                                  \
  Setting {                                                                         \
    NAME, [](const char *v) { return parse_bool(v, &g_config.FIELD); },             \
        [](LineWriter &out) { show_bool(out, g_config.FIELD); }, "0 or 1", WHAT     \
  }
#define FT_PATH(NAME, FIELD)                                                          \
  Setting {                                                                           \
    NAME, [](const char *v) { return parse_path(v, g_paths.FIELD); },                 \
        [](LineWriter &out) { show_path(out, g_paths.FIELD); }, "a file name shorter than 512 bytes", "none" \
  }

constexpr Setting kSettings[] = {
    {"FT_MALLOC_ERRORS",
     [](const char *v) {
       if (!strcmp(v, "abort")) g_config.errors = ErrorMode::kAbort;
       else if (!strcmp(v, "warn")) g_config.errors = ErrorMode::kWarn;
       else if (!strcmp(v, "ignore")) g_config.errors = ErrorMode::kIgnore;
       else return false;
       return true;
     },
     [](LineWriter &out) {
       out.str(g_config.errors == ErrorMode::kAbort ? "abort" : g_config.errors == ErrorMode::kWarn ? "warn" : "ignore");
     },
     "abort, warn or ignore", "abort"},
    FT_FLAG("FT_MALLOC_TCACHE", tcache, "1 (on)"),
    FT_FLAG("FT_MALLOC_LARGE_CACHE", large_cache, "1 (on)"),
    FT_FLAG("FT_MALLOC_SCRIBBLE", scribble, "0 (off)"),
    FT_FLAG("FT_MALLOC_GUARD", guard, "0 (off)"),
    FT_FLAG("FT_MALLOC_CHECK", check, "0 (off)"),
    FT_FLAG("FT_MALLOC_LEAKS", leaks, "0 (off)"),
    FT_FLAG("FT_MALLOC_STATS", stats, "0 (off)"),
    FT_FLAG("FT_MALLOC_VERBOSE", verbose, "0 (off)"),
    {"FT_MALLOC_DUMP",
     [](const char *v) {
       bool on;
       if (!strcmp(v, "ex")) g_config.dump = Config::kDumpEx;
       else if (parse_bool(v, &on)) g_config.dump = on ? Config::kDump : Config::kNoDump;
       else return false;
       return true;
     },
     [](LineWriter &out) { out.str(g_config.dump == Config::kDumpEx ? "ex" : g_config.dump ? "1" : "0"); },
     "0, 1 or ex", "0 (no dump)"},
    {"FT_MALLOC_DUMP_SIGNAL", [](const char *v) { return (g_config.dump_signal = signal_number(v)) != 0; },
     [](LineWriter &out) {
       if (g_config.dump_signal) out.dec(static_cast<uint64_t>(g_config.dump_signal));
       else out.str("(none)");
     },
     "a signal name (USR1, SIGUSR2, HUP, ...) or number", "none (no dump on a signal)"},
    {"FT_MALLOC_EVERY", [](const char *v) { return parse_count(v, &g_config.every); },
     [](LineWriter &out) { out.dec(g_config.every); }, "a whole number of seconds", "0 (no periodic summary)"},
    FT_PATH("FT_MALLOC_OUT", out),
    FT_PATH("FT_MALLOC_SVG", svg),
    FT_PATH("FT_MALLOC_JSON", json),
    FT_PATH("FT_MALLOC_TRACE", trace),
    FT_PATH("FT_MALLOC_FOLDED", folded),
    FT_PATH("FT_MALLOC_FOLDED_ALLOC", folded_alloc),
    FT_PATH("FT_MALLOC_PPROF", pprof),
};
#undef FT_FLAG
#undef FT_PATH

constexpr char kPrefix[] = "FT_MALLOC_";

void warn_value(const Setting &s, const char *v) {
  LineWriter out(2);
  out.str("ft_malloc: ").str(s.name).ch('=').str(v).str(": not ").str(s.accepted).str("; using ");
  out.str(s.fallback).ch('\n');
}

// Every FT_MALLOC_ name in the environment that is none of ours.
FT_CORE_TEXT void warn_unknown_names() {
  auto check = [](const char *entry) {
    if (strncmp(entry, kPrefix, sizeof kPrefix - 1)) return;
    const char *eq = strchr(entry, '=');
    size_t len = eq ? static_cast<size_t>(eq - entry) : strlen(entry);
    for (const Setting &s : kSettings)
      if (strlen(s.name) == len && !strncmp(s.name, entry, len)) return;
    LineWriter out(2);
    out.str("ft_malloc: ").str(entry).str(": unknown setting, ignored (the settings are FT_MALLOC_");
    for (const Setting &s : kSettings) out.str(&s == kSettings ? "" : ", ").str(s.name + sizeof kPrefix - 1);
    out.str(")\n");
  };
  if (getauxval(AT_SECURE)) return;
  if (environ) {
    for (char **e = environ; *e; ++e) check(*e);
  } else {
    early_env("");  // reads the copy in
    for (size_t i = 0; i < g_environ_len; i += strlen(g_environ_copy + i) + 1) check(g_environ_copy + i);
  }
}

void print_settings() {
  LineWriter out(2);
  for (const Setting &s : kSettings) {
    out.str("ft_malloc: ").str(s.name).ch('=');
    s.show(out);
    if (!strcmp(s.name, "FT_MALLOC_TCACHE") && g_config.debug())
      out.str(" (off: a debug mode needs the slow paths)");
    out.ch('\n');
  }
}

}  // namespace

FT_CORE_TEXT void read_environment() {
  for (const Setting &s : kSettings)
    if (const char *v = env(s.name))
      if (*v && !s.parse(v)) warn_value(s, v);  // an empty value is no value
  g_config.trace = g_paths.trace[0] != 0;
  g_config.stacks = g_config.leaks || g_paths.folded[0] || g_paths.folded_alloc[0] || g_paths.pprof[0];
  g_config.valgrind = vg::running();
  g_config.any_debug = g_config.scribble || g_config.guard || g_config.check || g_config.stacks || g_config.trace ||
                       g_config.valgrind;
  if (g_config.debug()) g_config.tcache = false;
  warn_unknown_names();
  if (g_config.verbose) print_settings();
}

int set_option(int param, int value) {
  switch (param) {
    case -5:  // M_CHECK_ACTION: bit 0 prints, bit 1 aborts (glibc's meaning)
      g_config.errors = value & 2 ? ErrorMode::kAbort : value & 1 ? ErrorMode::kWarn : ErrorMode::kIgnore;
      return 1;
    case 1:   // M_MXFAST
    case -1:  // M_TRIM_THRESHOLD
    case -2:  // M_TOP_PAD
    case -3:  // M_MMAP_THRESHOLD
    case -4:  // M_MMAP_MAX
    case -7:  // M_ARENA_TEST
    case -8:  // M_ARENA_MAX
      // Accepted, no effect: the design fixes the thresholds and there is one arena.
      return 1;
    default:
      return 0;
  }
}

}  // namespace ft
