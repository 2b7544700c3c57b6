#include "os.h"

#include "stats.h"

#include <sys/mman.h>
#include <unistd.h>

namespace ft::os {

constinit size_t g_page_size = 4096;

void init_page_size() { g_page_size = static_cast<size_t>(getpagesize()); }

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

void *map(size_t len) {
  if (injected_failure()) return nullptr;
  stats::bump(stats::g_counters.maps);
  void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

void *map_aligned(size_t len, size_t align) {
  if (align <= g_page_size) return map(len);
  size_t span = len + align - g_page_size;
  if (span < len) return nullptr;
  auto *raw = static_cast<char *>(map(span));
  if (!raw) return nullptr;
  uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + align - 1) & ~(align - 1);
  size_t head = start - reinterpret_cast<uintptr_t>(raw);
  size_t tail = span - head - len;
  if (head) unmap(raw, head);
  if (tail) unmap(reinterpret_cast<char *>(start) + len, tail);
  return reinterpret_cast<void *>(start);
}

void unmap(void *p, size_t len) {
  stats::bump(stats::g_counters.unmaps);
  munmap(p, len);
}

void *remap(void *p, size_t old_len, size_t new_len) {
  if (injected_failure()) return nullptr;
  void *q = mremap(p, old_len, new_len, MREMAP_MAYMOVE);
  return q == MAP_FAILED ? nullptr : q;
}

void purge(void *p, size_t len) { madvise(p, len, MADV_DONTNEED); }

void protect_none(void *p, size_t len) { mprotect(p, len, PROT_NONE); }

}  // namespace ft::os
