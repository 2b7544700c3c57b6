// The call log (FT_MALLOC_TRACE=FILE): the format is call_log_format.h (and README.md, "Call log format").
//
// The file is mapped MAP_SHARED over a large reservation of address space and grown with
// fallocate (ftruncate where the file system cannot) a quarter at a time. A thread
// reserves a block of 128 record slots with one atomic fetch_add on the global end offset, names
// itself in the block's first slot, then fills the others without any shared write: no lock and
// no allocation on the hot path, only clock_gettime (vDSO) and four stores. The records live in
// the page cache as soon as they are stored, so a log survives _exit, abort and SIGKILL.
//
// fork: the log page of the parent is shared with the child, which must not write into it. A
// one-page anonymous mapping marked MADV_WIPEONFORK holds 1 in the parent and reads 0 in a child,
// so the child notices with one load and starts its own log FILE.<pid> (where the kernel has no
// MADV_WIPEONFORK, every record compares getpid() instead). No pthread_atfork: registering one may
// allocate, and open() runs inside the allocator's start-up.
//
// Only raw system calls are used here (not os/mapping.cpp): the log's mappings must not count among the
// heap's mmap calls in the statistics, nor fail under the tests' fault injection.
#include "debug/call_log.h"

#include "base/compiler.h"

#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/counters.h"
#include "base/line_writer.h"

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

namespace ft::call_log {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kMaxGrowStep = 64 * kMiB;
constexpr uint64_t kGrowUnit = 64 * 1024;
constexpr size_t kPathMax = 512;

struct ThreadLog {
  Record *cur, *end;  // this thread's free slots in its current block
  uint32_t epoch;     // the log generation the block belongs to (a fork child starts a new one)
  uint32_t id;        // small thread id, 1 for the first thread that allocates
};
__thread ThreadLog t_log __attribute__((tls_model("initial-exec")));

// Published with release stores; record() reads g_base first.
constinit char *g_base = nullptr;
constinit uint64_t g_reserved = 0;   // address space mapped over the file
constinit uint64_t g_size = 0;       // file length: slots below it may be written
constinit uint64_t g_next = 0;       // next free block
constinit uint32_t g_epoch = 0;
constinit uint32_t g_next_id = 0;
constinit int g_fd = -1;
constinit int g_grow_lock = 0;
constinit bool g_can_fallocate = true;
constinit uint64_t g_logged_zones = 0, g_logged_large = 0;  // the last kMapped record's
constinit bool g_full = false;         // the log could not grow: nothing more is logged
constinit uint64_t g_start_mono = 0, g_start_real = 0;
FT_BIG_TABLE constinit char g_path[kPathMax] = {};
// 1 in the process that opened the log, 0 in a fork child (MADV_WIPEONFORK), 2 while the child
// opens its own. nullptr where the kernel cannot wipe on fork: then g_owner is compared with getpid().
constinit int *g_canary = nullptr;
constinit int g_owner = 0;

uint64_t now_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

void spin_lock(int *l) {
  while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE)) sched_yield();
}
void spin_unlock(int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

// "PATH", "PATH.<pid>" or "PATH.<pid>.<n>" into dst.
void make_name(char *dst, const char *path, int pid, unsigned n) {
  size_t len = strlen(path);
  memcpy(dst, path, len);
  char *p = dst + len;
  auto put_dec = [&p](uint64_t v) {
    char tmp[20];
    int k = 0;
    do tmp[k++] = static_cast<char>('0' + v % 10), v /= 10;
    while (v);
    while (k) *p++ = tmp[--k];
  };
  if (pid) {
    *p++ = '.';
    put_dec(static_cast<uint64_t>(pid));
    if (n > 1) *p++ = '.', put_dec(n);
  }
  *p = 0;
}

// A log another live process writes (or that an earlier image of this process wrote before an
// exec) is left alone.
bool in_use(int fd) {
  Header h;
  if (pread(fd, &h, sizeof h, 0) != static_cast<ssize_t>(sizeof h) || memcmp(h.magic, kMagic, 8) != 0) return false;
  int owner = static_cast<int>(h.pid);
  if (owner <= 0) return false;
  if (owner == getpid()) return true;
  return kill(owner, 0) == 0 || errno == EPERM;
}

// Creates or takes over the first free name: PATH for the first process (unless `child`), then
// PATH.<pid>, PATH.<pid>.2, ... Returns the descriptor, or -1.
int create_log(const char *path, bool child, char *name) {
  int pid = getpid();
  for (unsigned n = child ? 1 : 0; n < 10; ++n) {
    make_name(name, path, n ? pid : 0, n);
    int fd = ::open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno != EEXIST) return -1;
    fd = ::open(name, O_RDWR | O_CLOEXEC);
    if (fd < 0) continue;
    if (!in_use(fd) && ftruncate(fd, 0) == 0) return fd;
    close(fd);
  }
  return -1;
}

// Makes the file at least `need` bytes long (the caller holds g_grow_lock or is alone).
bool grow_to(uint64_t need) {
  uint64_t size = __atomic_load_n(&g_size, __ATOMIC_ACQUIRE);
  if (need <= size) return true;
  if (need > g_reserved) return false;
  // A quarter more than needed, in 64 KiB units, at most 64 MiB at a time: some 60 system calls
  // for a GB of log, a 64 KiB file for a short one (a fork child that execs at once), and at most
  // a quarter of unwritten (zero) slack at the end of the file.
  uint64_t step = need / 4;
  if (step > kMaxGrowStep) step = kMaxGrowStep;
  uint64_t target = (need + step + kGrowUnit - 1) / kGrowUnit * kGrowUnit;
  if (target > g_reserved) target = g_reserved;
  // fallocate reserves the disk blocks: a full disk fails here, not with SIGBUS on a store. Through
  // syscall(2): glibc's fallocate is a cancellation point, and this runs inside malloc.
  if (g_can_fallocate) {
    if (syscall(SYS_fallocate, g_fd, 0, static_cast<off_t>(size), static_cast<off_t>(target - size)) != 0) {
      if (errno != EOPNOTSUPP && errno != ENOSYS) return false;
      g_can_fallocate = false;
    }
  }
  if (!g_can_fallocate && ftruncate(g_fd, static_cast<off_t>(target)) != 0) return false;
  __atomic_store_n(&g_size, target, __ATOMIC_RELEASE);
  return true;
}

void warn(const char *what, const char *name) {
  int e = errno;
  LineWriter out(2);
  out.str("ft_malloc: call log ").str(name).str(": ").str(what).str(" (errno ").dec(static_cast<uint64_t>(e)).str(")\n");
}

// Opens a log at `path` (the root log, or a fork child's PATH.<pid>) and publishes it.
bool start_log(const char *path, bool child, int ppid) {
  char name[kPathMax + 32];
  int fd = create_log(path, child, name);
  if (fd < 0) {
    warn("cannot create it, calls are not logged", name);
    return false;
  }
  g_fd = fd;
  g_size = 0;
  g_logged_zones = g_logged_large = UINT64_MAX;  // a new log starts with the mappings' state
  g_can_fallocate = true;
  g_full = false;
  // As much address space as the system gives, from 64 GiB (2 billion calls) down.
  char *base = nullptr;
  for (uint64_t len = uint64_t{64} << 30; len >= 64 * kMiB; len /= 4) {
    void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (p != MAP_FAILED) {
      base = static_cast<char *>(p);
      g_reserved = len;
      break;
    }
  }
  if (!base || !grow_to(kHeaderSize + kBlockSize)) {
    warn("cannot map it, calls are not logged", name);
    if (base) munmap(base, g_reserved);
    close(fd);
    g_fd = -1;
    return false;
  }
  auto *h = reinterpret_cast<Header *>(base);
  h->version = kVersion;
  h->header_size = kHeaderSize;
  h->record_size = kRecordSize;
  h->block_size = kBlockSize;
  h->flags = (child ? kFlagForkChild : 0) | (g_canary ? 0 : kFlagPidCheck);
  h->pid = static_cast<uint64_t>(getpid());
  h->ppid = static_cast<uint64_t>(ppid);
  h->start_monotonic_ns = g_start_mono;
  h->start_realtime_ns = g_start_real;
  ssize_t n = readlink("/proc/self/exe", h->exe, sizeof h->exe - 1);
  if (n < 0) h->exe[0] = 0;
  memcpy(h->magic, kMagic, sizeof kMagic);
  __atomic_store_n(&g_next, uint64_t{kHeaderSize}, __ATOMIC_RELAXED);
  __atomic_store_n(&g_epoch, g_epoch + 1, __ATOMIC_RELAXED);
  __atomic_store_n(&g_next_id, 0u, __ATOMIC_RELAXED);
  __atomic_store_n(&g_base, base, __ATOMIC_RELEASE);
  return true;
}

// In a fork child, at its first call: leave the parent's log alone and start PATH.<pid>.
void start_child_log() {
  int parent = static_cast<int>(reinterpret_cast<Header *>(g_base)->pid);
  char *old = __atomic_exchange_n(&g_base, nullptr, __ATOMIC_ACQ_REL);
  if (old) munmap(old, g_reserved);
  if (g_fd >= 0) close(g_fd);
  g_fd = -1;
  g_grow_lock = 0;  // the child has one thread: a holder of the parent's lock does not exist here
  start_log(g_path, true, parent);
}

// Slow path of the fork check; returns false when the log is off.
bool after_fork() {
  if (g_canary) {
    int expected = 0;
    if (__atomic_compare_exchange_n(g_canary, &expected, 2, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      start_child_log();
      __atomic_store_n(g_canary, 1, __ATOMIC_RELEASE);
    } else {
      while (__atomic_load_n(g_canary, __ATOMIC_ACQUIRE) != 1) sched_yield();
    }
  } else {
    int pid = getpid();
    int owner = __atomic_load_n(&g_owner, __ATOMIC_ACQUIRE);
    if (owner == pid) return __atomic_load_n(&g_base, __ATOMIC_ACQUIRE) != nullptr;
    if (owner > 0 && __atomic_compare_exchange_n(&g_owner, &owner, -1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
      start_child_log();
      __atomic_store_n(&g_owner, pid, __ATOMIC_RELEASE);
    } else {
      while (__atomic_load_n(&g_owner, __ATOMIC_ACQUIRE) != pid) sched_yield();
    }
  }
  return __atomic_load_n(&g_base, __ATOMIC_ACQUIRE) != nullptr;
}

// Reserves a fresh block for this thread and names the thread in its first slot.
bool new_block(ThreadLog &t, char *base) {
  uint32_t epoch = __atomic_load_n(&g_epoch, __ATOMIC_ACQUIRE);
  if (t.epoch != epoch) {
    t.epoch = epoch;
    t.id = __atomic_add_fetch(&g_next_id, 1u, __ATOMIC_RELAXED);
  }
  t.cur = t.end = nullptr;
  if (__atomic_load_n(&g_full, __ATOMIC_RELAXED)) return false;
  uint64_t off = __atomic_fetch_add(&g_next, uint64_t{kBlockSize}, __ATOMIC_RELAXED);
  uint64_t end = off + kBlockSize;
  if (end > __atomic_load_n(&g_size, __ATOMIC_ACQUIRE)) {
    spin_lock(&g_grow_lock);
    bool ok = !g_full && grow_to(end);
    if (!ok && !g_full) {
      // The disk is full, or the reservation (2 billion calls): the rest of the run is not logged.
      __atomic_store_n(&g_full, true, __ATOMIC_RELAXED);
      warn("cannot grow it, the calls from now on are not logged", g_path);
    }
    spin_unlock(&g_grow_lock);
    if (!ok) return false;
  }
  auto *r = reinterpret_cast<Record *>(base + off);
  r->a = t.id;
  r->b = static_cast<uint64_t>(syscall(SYS_gettid));
  r->result = static_cast<uint64_t>(getpid());
  __atomic_store_n(&r->time_op, ((now_ns(CLOCK_MONOTONIC) - g_start_mono) & kTimeMask) | uint64_t{kOpThread} << 56,
                   __ATOMIC_RELEASE);
  t.cur = r + 1;
  t.end = reinterpret_cast<Record *>(base + end);
  return true;
}

}  // namespace

void open(const char *path) {
  if (__atomic_load_n(&g_base, __ATOMIC_ACQUIRE) || !path || !*path) return;
  size_t len = strlen(path);
  if (len >= kPathMax) return;
  memcpy(g_path, path, len + 1);
  g_start_mono = now_ns(CLOCK_MONOTONIC);
  g_start_real = now_ns(CLOCK_REALTIME);
  void *page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page != MAP_FAILED) {
    if (madvise(page, 4096, MADV_WIPEONFORK) == 0) {
      g_canary = static_cast<int *>(page);
      *g_canary = 1;
    } else {
      munmap(page, 4096);
    }
  }
  g_owner = getpid();
  start_log(path, false, getppid());
}

void record_mapping() {
  uint64_t all = __atomic_load_n(&counters::g_counters.mapped_bytes, __ATOMIC_RELAXED);
  uint64_t large = __atomic_load_n(&counters::g_counters.large_mapped_bytes, __ATOMIC_RELAXED);
  uint64_t zones = all - large;
  // Two threads may both log one change: a repeated record is harmless.
  if (zones == __atomic_load_n(&g_logged_zones, __ATOMIC_RELAXED) &&
      large == __atomic_load_n(&g_logged_large, __ATOMIC_RELAXED))
    return;
  __atomic_store_n(&g_logged_zones, zones, __ATOMIC_RELAXED);
  __atomic_store_n(&g_logged_large, large, __ATOMIC_RELAXED);
  record(Op::kMapped, zones, large, 0);
}

void record(Op op, uint64_t a, uint64_t b, uint64_t result) {
  char *base = __atomic_load_n(&g_base, __ATOMIC_ACQUIRE);
  if (!base) return;
  int *canary = g_canary;
  bool forked = canary ? __atomic_load_n(canary, __ATOMIC_ACQUIRE) != 1
                       : __atomic_load_n(&g_owner, __ATOMIC_RELAXED) != getpid();
  if (__builtin_expect(forked, 0)) {
    if (!after_fork()) return;
    base = __atomic_load_n(&g_base, __ATOMIC_ACQUIRE);
  }
  ThreadLog &t = t_log;
  if (__builtin_expect(t.cur == t.end || t.epoch != __atomic_load_n(&g_epoch, __ATOMIC_RELAXED), 0)) {
    if (!new_block(t, base)) return;
  }
  Record *r = t.cur++;
  r->a = a;
  r->b = b;
  r->result = result;
  // The op goes last: a reader (even while the program runs) sees whole records or zeros.
  __atomic_store_n(&r->time_op, ((now_ns(CLOCK_MONOTONIC) - g_start_mono) & kTimeMask) | uint64_t{static_cast<uint8_t>(op)} << 56,
                   __ATOMIC_RELEASE);
}

}  // namespace ft::call_log
