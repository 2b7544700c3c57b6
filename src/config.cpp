#include "config.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <string.h>
#include <strings.h>

#include "fork.h"
#include "line_writer.h"
#include "os.h"
#include "trace.h"
#include "valgrind_hooks.h"

namespace ft {

constinit Config g_config;
constinit uint64_t g_secret = 0x9e3779b97f4a7c15ull;

namespace {

enum : int { kNotStarted, kRunning, kDone };
constinit int g_init_state = kNotStarted;

// Before the C library sets `environ` (an allocation from a .preinit_array function, as the
// sanitizer runtimes make), the variables are read from /proc/self/environ instead: once, into a
// static buffer, without allocating.
constexpr size_t kEnvironBytes = 64 * 1024;
constinit char g_environ_copy[kEnvironBytes] = {};
constinit size_t g_environ_len = 0;

const char *early_env(const char *name) {
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
const char *env(const char *name) { return environ ? secure_getenv(name) : early_env(name); }
bool flag(const char *name) {
  const char *v = env(name);
  return v && *v && strcmp(v, "0") != 0;
}

// A file name, kept: the environment may change later.
bool copy_path(char *dst, const char *name) {
  const char *v = env(name);
  if (!v || !*v || strlen(v) >= Config::kPathMax) return false;
  memcpy(dst, v, strlen(v) + 1);
  return true;
}

// "USR1", "SIGUSR1" or "10".
int signal_number(const char *v) {
  if (*v >= '0' && *v <= '9') return atoi(v);
  if (!strncmp(v, "SIG", 3)) v += 3;
  static constexpr struct {
    const char *name;
    int number;
  } kNames[] = {{"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"HUP", SIGHUP},    {"INT", SIGINT},
                {"QUIT", SIGQUIT}, {"TERM", SIGTERM}, {"ALRM", SIGALRM}, {"WINCH", SIGWINCH}};
  for (const auto &n : kNames)
    if (!strcmp(v, n.name)) return n.number;
  return 0;
}

void read_environment() {
  if (const char *v = env("FT_MALLOC_ERRORS")) {
    if (!strcmp(v, "warn")) g_config.errors = ErrorMode::kWarn;
    else if (!strcmp(v, "ignore")) g_config.errors = ErrorMode::kIgnore;
  }
  if (const char *v = env("FT_MALLOC_TCACHE")) g_config.tcache = strcmp(v, "0") != 0;
  g_config.scribble = flag("FT_MALLOC_SCRIBBLE");
  g_config.guard = flag("FT_MALLOC_GUARD");
  g_config.check = flag("FT_MALLOC_CHECK");
  g_config.leaks = flag("FT_MALLOC_LEAKS");
  g_config.stats = flag("FT_MALLOC_STATS");
  if (const char *v = env("FT_MALLOC_DUMP"))
    g_config.dump = !strcmp(v, "ex") ? Config::kDumpEx : flag("FT_MALLOC_DUMP") ? Config::kDump : Config::kNoDump;
  if (const char *v = env("FT_MALLOC_DUMP_SIGNAL")) g_config.dump_signal = signal_number(v);
  if (const char *v = env("FT_MALLOC_EVERY")) g_config.every = static_cast<unsigned>(strtoul(v, nullptr, 10));
  copy_path(g_config.out, "FT_MALLOC_OUT");
  copy_path(g_config.svg, "FT_MALLOC_SVG");
  copy_path(g_config.json, "FT_MALLOC_JSON");
  g_config.trace = copy_path(g_config.trace_path, "FT_MALLOC_TRACE");
  g_config.valgrind = vg::running();
  if (g_config.debug()) g_config.tcache = false;
}

void read_secret() {
  if (auto *random = reinterpret_cast<const uint64_t *>(getauxval(AT_RANDOM))) {
    uint64_t s;
    memcpy(&s, random, sizeof s);
    g_secret ^= s;
  }
  g_secret |= 1;  // never zero
}

}  // namespace

int set_option(int param, int value) {
  ensure_init();
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

void ensure_init() {
  if (__atomic_load_n(&g_init_state, __ATOMIC_ACQUIRE) == kDone) return;
  int expected = kNotStarted;
  if (__atomic_compare_exchange_n(&g_init_state, &expected, kRunning, false, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE)) {
    os::init_page_size();
    read_secret();
    read_environment();
    __atomic_store_n(&g_init_state, kDone, __ATOMIC_RELEASE);
    // After kDone: pthread_atfork may itself call malloc, which must then find us ready.
    install_fork_handlers();
    if (g_config.trace) trace::open(g_config.trace_path);
    return;
  }
  // Another thread is reading the environment: a few instructions, no allocation.
  while (__atomic_load_n(&g_init_state, __ATOMIC_ACQUIRE) != kDone) sched_yield();
}

}  // namespace ft
