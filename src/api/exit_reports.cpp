// Reports the environment asks for, without recompiling the program (ft_heap sets them):
//   at exit        FT_MALLOC_DUMP=1|ex, FT_MALLOC_STATS=1, FT_MALLOC_LEAKS=1 (to FT_MALLOC_OUT or
//                  stderr), FT_MALLOC_SVG=FILE, FT_MALLOC_JSON=FILE, the heap profiles
//                  FT_MALLOC_FOLDED, FT_MALLOC_FOLDED_ALLOC, FT_MALLOC_PPROF=FILE;
//   on a signal    FT_MALLOC_DUMP_SIGNAL=SIG: a dump each time, written by a reporter thread (the
//                  handler only writes a byte to a pipe: no lock is taken inside a handler);
//   periodically   FT_MALLOC_EVERY=SECONDS: a one-line summary.
// A constructor starts the reporter threads and a destructor writes the exit reports: they run
// once the C library is up, unlike everything else in ft_malloc.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>  // rename(): a system call, no stream
#include <cstdlib>
#include <cstring>

#include "api/startup.h"
#include "base/compiler.h"
#include "base/line_writer.h"
#include "base/settings.h"
#include "debug/heap_profiles.h"
#include "debug/leaks.h"
#include "introspect/statistics.h"
#include "show_alloc_mem/dump.h"

namespace ft {
namespace {

constinit int g_signal_pipe[2] = {-1, -1};

long resident_kb() {
  int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *p = buf;
  while (*p && *p != ' ') ++p;  // skip the size, read the resident pages
  return strtol(p, nullptr, 10) * static_cast<long>(sysconf(_SC_PAGESIZE) / 1024);
}

// The stream for reports: FT_MALLOC_OUT (appended to) or stderr. The caller closes it unless 2.
int open_out() {
  if (!g_paths.out[0]) return 2;
  int fd = open(g_paths.out, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  return fd < 0 ? 2 : fd;
}

// One line: live bytes and blocks, zones, LARGE mappings, resident size.
void summary_line(int fd) {
  stats::Snapshot s;
  stats::take_snapshot(&s);
  LineWriter out(fd);
  out.str("ft_malloc: live ").dec(s.total.live_bytes).str(" B in ").dec(s.total.live_blocks);
  out.str(" blocks, ").dec(s.total.zones - s.cls[stats::kLargeSlot].zones).str(" zones, ");
  out.dec(s.cls[stats::kLargeSlot].zones).str(" LARGE, ").dec(s.total.bytes_mapped).str(" B mapped, resident ");
  out.dec(static_cast<uint64_t>(resident_kb())).str(" kB\n");
}

void dump(int fd) {
  if (g_config.dump == Config::kDumpEx) dump_heap_ex(fd);
  else dump_heap(fd);
}

void on_signal(int) {
  int saved = errno;
  char b = 1;
  ssize_t w = write(g_signal_pipe[1], &b, 1);
  (void)w;
  errno = saved;
}

void *signal_reporter(void *) {
  char b;
  while (read(g_signal_pipe[0], &b, 1) > 0) {
    int fd = open_out();
    dump(fd);
    if (fd != 2) close(fd);
  }
  return nullptr;
}

void *periodic_reporter(void *) {
  for (;;) {
    sleep(g_config.every);
    int fd = open_out();
    summary_line(fd);
    if (fd != 2) close(fd);
  }
  return nullptr;
}

void start_thread(void *(*fn)(void *)) {
  pthread_t t;
  if (pthread_create(&t, nullptr, fn, nullptr) == 0) pthread_detach(t);
}

// Runs once the C library is up (a constructor), unlike everything else in ft_malloc: starting
// threads is not something malloc may do from inside libc's own start-up.
__attribute__((constructor)) FT_CORE_TEXT void start_reporters() {
  ensure_started();
  if (g_config.dump_signal > 0 && pipe2(g_signal_pipe, O_CLOEXEC) == 0) {
    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(g_config.dump_signal, &sa, nullptr);
    start_thread(signal_reporter);
  }
  if (g_config.every) start_thread(periodic_reporter);
}

// A file written at exit (FT_MALLOC_SVG, JSON, FOLDED, FOLDED_ALLOC, PPROF): written under a
// temporary name beside it, then renamed, so that a reader never finds it half-written. In the
// cold text, called only when asked for (exit_reports tests the path): its 480 bytes left the
// core text, which every program holds.
void write_file(const char *path, void (*writer)(int)) {
  char tmp[ReportPaths::kPathMax + 32];
  size_t len = strlen(path);
  memcpy(tmp, path, len);
  const char suffix[] = ".tmp.";
  memcpy(tmp + len, suffix, sizeof suffix - 1);
  len += sizeof suffix - 1;
  char digits[24];
  int n = 0;
  for (unsigned long pid = static_cast<unsigned long>(getpid()); n == 0 || pid; pid /= 10)
    digits[n++] = static_cast<char>('0' + pid % 10);
  while (n) tmp[len++] = digits[--n];
  tmp[len] = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    LineWriter err(2);
    err.str("ft_malloc: ").str(path).str(": cannot write it (errno ").dec(static_cast<uint64_t>(errno)).str(")\n");
    return;
  }
  writer(fd);
  if (close(fd) != 0 || rename(tmp, path) != 0) unlink(tmp);
}

// The files written at exit when their setting names one (FT_MALLOC_SVG, JSON, FOLDED,
// FOLDED_ALLOC, PPROF): one table, which exit_reports reads to know whether to write anything.
struct ExitFile {
  const char *path;
  void (*writer)(int);
};
constexpr ExitFile kExitFiles[] = {{g_paths.svg, write_svg},
                                   {g_paths.json, write_json},
                                   {g_paths.folded, profiles::write_folded},
                                   {g_paths.folded_alloc, profiles::write_folded_alloc},
                                   {g_paths.pprof, profiles::write_pprof}};

// What exit_reports writes when asked: in the cold text, which a program that asks for no report
// never runs (412 -> 76 bytes of core text, room for tcache::UnlockedChange's marks).
[[gnu::noinline]] void write_exit_reports() {
  for (const ExitFile &f : kExitFiles)
    if (f.path[0]) write_file(f.path, f.writer);
  if (!g_config.dump && !g_config.stats && !g_config.leaks) return;
  int fd = open_out();
  if (g_config.dump) dump(fd);
  if (g_config.stats) stats::print_report(fd);
  if (g_config.leaks) leaks::report(fd);
  if (fd != 2) close(fd);
}

__attribute__((destructor)) FT_CORE_TEXT void exit_reports() {
  bool asked = g_config.dump || g_config.stats || g_config.leaks;
  for (const ExitFile &f : kExitFiles) asked |= f.path[0] != 0;
  if (asked) write_exit_reports();
}

}  // namespace
}  // namespace ft
