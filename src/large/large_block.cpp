#include "large/large_block.h"

#include <cerrno>

#include "base/counters.h"
#include "base/settings.h"
#include "os/mapping.h"

namespace ft::large {

void *allocate(size_t n, size_t need, size_t align) {
  size_t page = os::page_size();
  size_t guard = g_config.guard ? page : 0;
  // With a guard the block sits at the end of its pages, rounded down to its alignment: room for
  // that rounding comes on top.
  size_t slack = guard && align > page ? align : 0;
  size_t len = os::round_to_pages((need ? need : 1) + slack);
  if (len < need || len + guard < len) {
    errno = ENOMEM;
    return nullptr;
  }
  // With a guard, the block is placed at the end of its pages, so alignment comes from there.
  void *p = os::map_aligned(len + guard, guard || align < page ? page : align);
  if (!p) {
    errno = ENOMEM;
    return nullptr;
  }
  uintptr_t base = reinterpret_cast<uintptr_t>(p);
  uintptr_t end = base + len;
  uintptr_t user = base;
  if (guard) {
    os::protect_none(reinterpret_cast<void *>(end), guard);
    size_t a = align < 16 ? 16 : align;
    user = (end - need) & ~(a - 1);
    if (user < base) {  // an alignment beyond the block's pages: give up the tight fit
      os::unmap(p, len + guard);
      errno = ENOMEM;
      return nullptr;
    }
  }
  bool recorded;
  {
    HeapLock lock;
    recorded = insert(LargeBlock{user, base, len + guard, n, end});
  }
  if (!recorded) {
    os::unmap(p, len + guard);
    errno = ENOMEM;
    return nullptr;
  }
  counters::note_allocs(counters::kLargeSlot);
  return reinterpret_cast<void *>(user);
}

void Unmap::run() const {
  if (len) os::unmap(reinterpret_cast<void *>(addr), len);
}

Unmap shrink(LargeBlock *b, size_t n, size_t need) {
  size_t keep = os::round_to_pages(b->user - b->base + need);
  size_t drop = b->map_len > keep ? b->map_len - keep : 0;
  b->size = n;
  if (!drop) return Unmap{0, 0};
  uintptr_t tail = b->base + keep;
  resize(b, keep);
  return Unmap{tail, drop};
}

bool can_regrow(const LargeBlock &b) { return b.user == b.base && !g_config.guard; }

void *regrow(LargeBlock *b, size_t n, size_t need, HeapLock &lock, size_t *old_size) {
  LargeBlock old = *b;
  size_t len = os::round_to_pages(need);
  erase(b);
  lock.unlock();
  void *q = os::remap(reinterpret_cast<void *>(old.base), old.map_len, len);
  lock.relock();
  uintptr_t a = reinterpret_cast<uintptr_t>(q);
  // Cannot fail: the table holds one entry fewer than before the erase.
  insert(q ? LargeBlock{a, a, len, n, a + len} : old);
  *old_size = old.size;
  return q;
}

}  // namespace ft::large
