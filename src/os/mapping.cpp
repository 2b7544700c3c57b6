#include "os/mapping.h"
#include "base/compiler.h"

#include "base/counters.h"

#include <cerrno>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ft::os {

constinit size_t g_page_size = 4096;

FT_CORE_TEXT void init_page_size() { g_page_size = static_cast<size_t>(getpagesize()); }

#ifdef FT_FAULT_INJECTION
namespace {
constinit unsigned long g_skip = 0, g_fail = 0;
bool injected_failure() {
  if (g_skip) {
    --g_skip;
    return false;
  }
  if (!g_fail) return false;
  --g_fail;
  return true;
}
}  // namespace
void fail_maps(unsigned long skip, unsigned long count) {
  g_skip = skip;
  g_fail = count;
}
#else
namespace {
constexpr bool injected_failure() { return false; }
}  // namespace
void fail_maps(unsigned long, unsigned long) {}
#endif

namespace {
FT_CORE_TEXT void *map_raw(void *hint, size_t len) {
  counters::bump(counters::g_counters.maps);
  void *p = mmap(hint, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

// Where the next aligned mapping will likely fall: right below the last one, since the kernel
// hands out addresses top-down. Asked for it first (a hint, never MAP_FIXED), most zones cost one
// mmap instead of an oversized one and two munmaps to trim it (tree of 2M nodes: 1067 mmap and
// 2103 munmap calls before, 1067 and 1052 after, the zones' own unmapping; 5 % of its time).
// The hint is the new mapping's own length below the last one's start, so that it ends where
// that one begins: the kernel then merges the two into one area. Computed from the last one's
// length instead, a zone smaller than the one before left a hole above it, and a program of
// 100,000 mixed blocks had 266 memory areas instead of glibc's 24 (a fork copies each: 8.3 ms
// against glibc's 3.3). Shared by all threads without the lock: a stale one costs the fallback.
constinit uintptr_t g_last_start = 0;

FT_CORE_TEXT void *aligned_here(uintptr_t p) {
  __atomic_store_n(&g_last_start, p, __ATOMIC_RELAXED);
  return reinterpret_cast<void *>(p);
}
}  // namespace

FT_CORE_TEXT void *map(size_t len) {
  if (injected_failure()) return nullptr;
  return map_raw(nullptr, len);
}

FT_CORE_TEXT void *map_aligned(size_t len, size_t align) {
  if (align <= g_page_size) return map(len);
  if (injected_failure()) return nullptr;
  uintptr_t last = __atomic_load_n(&g_last_start, __ATOMIC_RELAXED);
  if (uintptr_t hint = last > len ? (last - len) & ~(align - 1) : 0) {
    if (void *p = map_raw(reinterpret_cast<void *>(hint), len)) {
      if (!(reinterpret_cast<uintptr_t>(p) & (align - 1))) return aligned_here(reinterpret_cast<uintptr_t>(p));
      unmap(p, len);
    }
  }
  size_t span = len + align - g_page_size;
  if (span < len) return nullptr;
  auto *raw = static_cast<char *>(map_raw(nullptr, span));
  if (!raw) return nullptr;
  uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + align - 1) & ~(align - 1);
  size_t head = start - reinterpret_cast<uintptr_t>(raw);
  size_t tail = span - head - len;
  if (head) unmap(raw, head);
  if (tail) unmap(reinterpret_cast<char *>(start) + len, tail);
  return aligned_here(start);
}

FT_CORE_TEXT void unmap(void *p, size_t len) {
  counters::bump(counters::g_counters.unmaps);
  munmap(p, len);
}

FT_HOT_TEXT void *remap(void *p, size_t old_len, size_t new_len) {
  if (injected_failure()) return nullptr;
  void *q = mremap(p, old_len, new_len, MREMAP_MAYMOVE);
  return q == MAP_FAILED ? nullptr : q;
}

FT_HOT_TEXT bool move_to(void *from, size_t len, void *to, bool *to_lost) {
  *to_lost = false;
  if (!injected_failure() && mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to) != MAP_FAILED) return true;
  // Before Linux 6.17 the kernel unmapped the target before it checked the source (mremap_to):
  // mapped again (MAP_FIXED, over a range of ours), whatever this kernel did.
  counters::bump(counters::g_counters.maps);
  *to_lost = mmap(to, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED;
  return false;
}

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4  // Linux 5.7's uapi value
#endif
#ifndef MADV_COLD
#define MADV_COLD 20  // Linux 5.4's uapi value
#endif
FT_HOT_TEXT void *move_pages(void *p, size_t len) {
  if (injected_failure()) return nullptr;
  // Never out of locked memory (mlock, mlockall): the kernel clears VM_LOCKED on the whole area
  // the pages leave, which would unlock every zone it spans. MADV_COLD refuses locked pages
  // (EINVAL) and changes nothing a program can see (the page only goes to the inactive list):
  // the probe, one system call.
  if (madvise(p, g_page_size, MADV_COLD) != 0) return nullptr;
  // The fifth argument is read with MREMAP_DONTUNMAP even without MREMAP_FIXED (checked for
  // alignment): left out, it is whatever the register holds, and the call fails now and then.
  void *q = mremap(p, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, nullptr);
  return q == MAP_FAILED ? nullptr : q;
}

FT_CORE_TEXT void purge(void *p, size_t len) { madvise(p, len, MADV_DONTNEED); }

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14's uapi value; older headers lack it
#endif
namespace {
bool g_prefault_refused;  // the kernel does not know MADV_POPULATE_WRITE (before 5.14): never asked again

// A system call of three arguments made directly: libc's wrapper would set errno, which a malloc
// that succeeds must keep, and the save and restore around it cost malloc's core text more than
// it has room for. The result: 0, or minus an errno.
FT_INLINE long raw_syscall3(long number, uintptr_t a, uintptr_t b, uintptr_t c) {
#if defined(__x86_64__)
  long rc;
  __asm__ volatile("syscall" : "=a"(rc) : "0"(number), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
  return rc;
#else
  int saved = errno;
  long rc = syscall(number, a, b, c);
  rc = rc == -1 ? -errno : rc;
  errno = saved;
  return rc;
#endif
}
}  // namespace

// In the core text: refills of fresh chunks (tcache/own_zones.cpp prefault_taken) and zones being
// mapped (zone/zone_pool.cpp map_zone) call it.
FT_CORE_TEXT void prefault(void *p, size_t len) {
  if (__atomic_load_n(&g_prefault_refused, __ATOMIC_RELAXED)) return;
  uintptr_t start = reinterpret_cast<uintptr_t>(p) & ~(g_page_size - 1);
  uintptr_t end = round_to_pages(reinterpret_cast<uintptr_t>(p) + len);
  // Refused, the pages fault one by one as without the call.
  if (raw_syscall3(SYS_madvise, start, end - start, MADV_POPULATE_WRITE) == -EINVAL)
    __atomic_store_n(&g_prefault_refused, true, __ATOMIC_RELAXED);
}

FT_CORE_TEXT bool all_resident(void *p, size_t len) {
  unsigned char resident[64];  // one byte a page: 256 KiB of 4 KiB pages at most a call
  size_t pages = len / g_page_size;
  if (!pages || pages > sizeof resident) return false;
  if (raw_syscall3(SYS_mincore, reinterpret_cast<uintptr_t>(p), len, reinterpret_cast<uintptr_t>(resident)) != 0)
    return false;
  for (size_t k = 0; k < pages; ++k)
    if (!(resident[k] & 1)) return false;
  return true;
}

void protect_none(void *p, size_t len) { mprotect(p, len, PROT_NONE); }

}  // namespace ft::os
