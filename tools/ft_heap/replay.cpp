// ft_heap --replay: the log's calls made again, each log thread by a thread of its own in the
// log's order, a call waiting for the call whose pointer it consumes; timed, with the replay's
// own peak RSS. Its tables live off the heap under test (off_heap.h) so that only the replayed
// calls are measured.
#include "tools/ft_heap/replay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "tools/ft_heap/call_links.h"
#include "tools/ft_heap/call_log_reader.h"
#include "tools/ft_heap/off_heap.h"

namespace ft_heap {

namespace {

constexpr uint64_t kNone = kNoCall;

struct Replay {
  Log *log;
  uint64_t *dep;        // the call whose result this call's pointer argument is, or kNone
  uint64_t *slot;       // where each call's replayed result goes in `result`
  // What each call returned in the replay, | 1 once it ran (pointers are even). Laid out thread
  // by thread, so that a thread writes its own cache lines only.
  uint64_t *result;
  size_t **plan;        // per replay thread: its calls in order
  size_t *plan_len;
  int go;
};

// The result of call i, once its thread has run it.
void *wait_result(const Replay &r, uint64_t i) {
  const uint64_t *cell = &r.result[r.slot[i]];
  unsigned spins = 0;
  uint64_t v;
  while (!(v = __atomic_load_n(cell, __ATOMIC_ACQUIRE)))
    if (++spins > 64) sched_yield();
  return reinterpret_cast<void *>(v & ~uint64_t{1});
}

// What a program does with memory it gets: write it. One byte per page and the first bytes,
// so resident memory grows as in the program without memset dominating the timing.
void touch(void *p, size_t n) {
  if (!p || !n) return;
  auto *c = static_cast<volatile char *>(p);
  for (size_t off = 0; off < n; off += 4096) c[off] = 1;
  c[n - 1] = 1;
}

struct ThreadArg {
  Replay *r;
  unsigned t;
};

void *replay_thread(void *arg) {
  ThreadArg *ta = static_cast<ThreadArg *>(arg);
  Replay &r = *ta->r;
  while (!__atomic_load_n(&r.go, __ATOMIC_ACQUIRE)) sched_yield();
  const Call *calls = r.log->calls;
  for (size_t k = 0; k < r.plan_len[ta->t]; ++k) {
    size_t i = r.plan[ta->t][k];
    const Call &c = calls[i];
    void *old = nullptr;
    if (r.dep[i] != kNone) old = wait_result(r, r.dep[i]);
    void *p = nullptr;
    // A call that failed in the program (NULL, and not a realloc that freed) fails here too.
    bool failed = c.op != static_cast<uint8_t>(ft::call_log::Op::kFree) && !c.result &&
                  !(c.op == static_cast<uint8_t>(ft::call_log::Op::kRealloc) && !c.b);
    switch (failed ? ft::call_log::Op{} : static_cast<ft::call_log::Op>(c.op)) {
      case ft::call_log::Op::kMalloc:
        p = malloc(c.a);
        touch(p, c.a);
        break;
      case ft::call_log::Op::kCalloc:
        p = calloc(c.a, c.b);
        break;
      case ft::call_log::Op::kRealloc:
        if (c.a && r.dep[i] == kNone) {  // a block from before the log: realloc a new one
          p = malloc(c.b);
          touch(p, c.b);
        } else {
          p = realloc(old, c.b);
          if (p && c.b) touch(p, c.b);
        }
        break;
      case ft::call_log::Op::kFree:
        if (r.dep[i] != kNone) free(old);
        break;
      case ft::call_log::Op::kMemalign: {
        size_t align = c.a < sizeof(void *) ? sizeof(void *) : c.a;
        if (align & (align - 1)) align = size_t{1} << (64 - __builtin_clzll(align));
        if (posix_memalign(&p, align, c.b) != 0) p = nullptr;
        touch(p, c.b);
        break;
      }
      default:
        break;
    }
    __atomic_store_n(&r.result[r.slot[i]], reinterpret_cast<uint64_t>(p) | 1, __ATOMIC_RELEASE);
  }
  return nullptr;
}

// The replay's own peak: the high-water mark of this process's resident set, reset just before
// the replay. ru_maxrss would not do: it carries over exec, so a big launcher (a benchmark
// driver, a test runner) would put its own peak under ours. VmHWM can be reset (clear_refs 5,
// Linux 4.0); where it cannot, the fallback is ru_maxrss and the report says which it is.
bool reset_peak_rss() {
  int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = write(fd, "5", 1) == 1;
  close(fd);
  return ok;
}

long status_field_kb(const char *name) {
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  long value = -1;
  size_t len = strlen(name);
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, name, len) && line[len] == ':') {
      value = strtol(line + len + 1, nullptr, 10);
      break;
    }
  fclose(f);
  return value;
}

long peak_rss_kb(bool hwm) {
  if (hwm) {
    long v = status_field_kb("VmHWM");
    if (v >= 0) return v;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

long current_rss_kb() {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (f) {
    if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
    fclose(f);
  }
  return res * (sysconf(_SC_PAGESIZE) / 1024);
}

uint64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

int replay_log(const char *path) {
  Log log;
  if (!load_log(path, &log)) return kBadFile;
  size_t n = log.count;
  Replay r{};
  r.log = &log;
  r.dep = map_array<uint64_t>(n + 1);
  r.slot = map_array<uint64_t>(n + 1);
  r.result = map_array<uint64_t>(n + 1);
  // Which call produced each pointer a call consumes; a pointer from before the log is unknown.
  uint64_t unknown = link_calls(log, r.dep);
  uint64_t counts[6] = {0};
  for (size_t i = 0; i < n; ++i)
    if (log.calls[i].op < 6) counts[log.calls[i].op]++;
  // One replay thread per thread of the log, each with its calls in order.
  uint32_t *slot_of = static_cast<uint32_t *>(calloc(log.max_id + 1, sizeof *slot_of));
  unsigned threads = 0;
  for (size_t i = 0; i < n; ++i)
    if (!slot_of[log.calls[i].thread]) slot_of[log.calls[i].thread] = ++threads;
  r.plan = static_cast<size_t **>(calloc(threads + 1, sizeof *r.plan));
  r.plan_len = static_cast<size_t *>(calloc(threads + 1, sizeof *r.plan_len));
  for (size_t i = 0; i < n; ++i) r.plan_len[slot_of[log.calls[i].thread] - 1]++;
  for (unsigned t = 0; t < threads; ++t) {
    r.plan[t] = map_array<size_t>(r.plan_len[t] + 1);
    r.plan_len[t] = 0;
  }
  for (size_t i = 0; i < n; ++i) {
    unsigned t = slot_of[log.calls[i].thread] - 1;
    r.plan[t][r.plan_len[t]++] = i;
  }
  size_t base = 0;
  for (unsigned t = 0; t < threads; base += r.plan_len[t++])
    for (size_t k = 0; k < r.plan_len[t]; ++k) r.slot[r.plan[t][k]] = base + k;
  long rss_before = current_rss_kb();
  bool hwm = reset_peak_rss();
  long max_before = peak_rss_kb(hwm);
  pthread_t *tids = static_cast<pthread_t *>(calloc(threads + 1, sizeof *tids));
  ThreadArg *args = static_cast<ThreadArg *>(calloc(threads + 1, sizeof *args));
  for (unsigned t = 0; t < threads; ++t) {
    args[t] = ThreadArg{&r, t};
    if (pthread_create(&tids[t], nullptr, replay_thread, &args[t]) != 0) {
      fprintf(stderr, "ft_heap: pthread_create: %s\n", strerror(errno));
      return 1;
    }
  }
  uint64_t start = now_ns();
  __atomic_store_n(&r.go, 1, __ATOMIC_RELEASE);
  for (unsigned t = 0; t < threads; ++t) pthread_join(tids[t], nullptr);
  uint64_t elapsed = now_ns() - start;
  long rss_after = current_rss_kb();
  long max_after = peak_rss_kb(hwm);

  printf("replay of %s: %zu calls in %u thread%s\n", path, n, threads, threads == 1 ? "" : "s");
  printf("  malloc %llu, calloc %llu, realloc %llu, free %llu, memalign %llu",
         static_cast<unsigned long long>(counts[1]), static_cast<unsigned long long>(counts[2]),
         static_cast<unsigned long long>(counts[3]), static_cast<unsigned long long>(counts[4]),
         static_cast<unsigned long long>(counts[5]));
  if (unknown) printf(" (%llu frees/reallocs of blocks from before the log: skipped)", static_cast<unsigned long long>(unknown));
  printf("\n");
  printf("  time %.3f ms (%.1f ns per call)\n", elapsed / 1e6, n ? static_cast<double>(elapsed) / n : 0.0);
  printf("  peak RSS %ld kB (%s; %ld kB before the replay), RSS at the end %ld kB (%ld kB before)\n",
         max_after, hwm ? "VmHWM" : "ru_maxrss", max_before, rss_after, rss_before);
  return 0;
}

}  // namespace ft_heap
