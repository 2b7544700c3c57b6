#include "tools/ft_heap/launcher.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/ft_heap/output_file.h"

#ifndef FT_HOSTTYPE
#define FT_HOSTTYPE ""
#endif

namespace ft_heap {
namespace {

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

}  // namespace

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

void set_env(const char *name, const char *value) {
  if (setenv(name, value, 1) != 0) {
    fprintf(stderr, "ft_heap: setenv %s: %s\n", name, strerror(errno));
    exit(1);
  }
}

bool can_write(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *slash = 0;
  const char *d = slash ? (*dir ? dir : "/") : ".";
  struct stat st;
  if (stat(d, &st) != 0) {
    report_unwritable(path, errno);
    return false;
  }
  if (!S_ISDIR(st.st_mode)) {
    report_unwritable(path, ENOTDIR);
    return false;
  }
  if (access(d, W_OK | X_OK) != 0) {
    report_unwritable(path, errno);
    return false;
  }
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
    report_unwritable(path, EISDIR);
    return false;
  }
  return true;
}

int run_program(char **argv, bool wait) {
  char *lib = find_library();
  const char *old = getenv("LD_PRELOAD");
  if (old && *old) {
    size_t n = strlen(lib) + strlen(old) + 2;
    char *both = static_cast<char *>(malloc(n));
    snprintf(both, n, "%s:%s", lib, old);
    set_env("LD_PRELOAD", both);
  } else {
    set_env("LD_PRELOAD", lib);
  }
  pid_t child = wait ? fork() : 0;
  if (child < 0) {
    fprintf(stderr, "ft_heap: fork: %s\n", strerror(errno));
    return 1;
  }
  if (child == 0) {
    execvp(argv[0], argv);
    int e = errno;
    fprintf(stderr, "ft_heap: %s: %s\n", argv[0], strerror(e));
    _exit(e == ENOENT ? 127 : 126);
  }
  signal(SIGINT, SIG_IGN);  // ^C goes to the program; ft_heap writes the page after it
  int status;
  while (waitpid(child, &status, 0) < 0)
    if (errno != EINTR) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace ft_heap
