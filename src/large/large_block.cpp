#include "large/large_block.h"
#include "base/compiler.h"

#include <cerrno>
#include <cstring>

#include "base/counters.h"
#include "base/settings.h"
#include "base/valgrind_hooks.h"
#include "large/large_cache.h"
#include "os/mapping.h"

namespace ft::large {

namespace {

// How much longer than a growing block needs a cached mapping may be and still be taken whole
// (allocate_grown): up to kRoomFactor times, or kRoomBytes more. A buffer grown from 1 byte to
// 1 MiB again and again finds the last one's mapping (1 MiB for the 160 KiB it needs first) and
// grows in it without a system call. Six threads growing buffers to 0.2-3.2 MiB (300 rounds each;
// a cut mapping's tail is in the way of mremap, which then moves the block to fresh pages):
// 1.9-2.0 s, 575,000 page faults, 64 MB peak -> 0.75-0.78 s, 52,000, 41 MB (glibc 0.65-0.77 s,
// 21 MB). The room a block does not grow into stays resident while it lives, where the cache
// would have given it back after a second: at most as much as these bounds.
constexpr size_t kRoomFactor = 8;
constexpr size_t kRoomBytes = size_t{4} << 20;

// Where the block goes in a mapping of map_len bytes at base: at its start, or with a guard page
// at its end, as late as its alignment lets it.
FT_HOT_TEXT LargeBlock place(uintptr_t base, size_t map_len, size_t guard, size_t n, size_t need, size_t align) {
  uintptr_t end = base + map_len - guard;
  uintptr_t user = base;
  if (guard) {
    size_t a = align < 16 ? 16 : align;
    user = (end - need) & ~(a - 1);
  }
  return LargeBlock{user, base, map_len, n, end};
}

// A LARGE mapping unmapped (no lock held), counted out of the mapped bytes: the table does not
// count them, a block's mapping outlives its entry in the cache of freed ones (large_table.h).
FT_HOT_TEXT void unmap(uintptr_t base, size_t len) {
  os::unmap(reinterpret_cast<void *>(base), len);
  HeapLock lock;  // note_mapped's counters are under the heap lock
  counters::note_mapped(-static_cast<int64_t>(len), true);
}

// The cached entry e's mapping holds block b now: e lives again where it stands, or, b placed
// elsewhere in the mapping than e's block, e goes and b's entry comes.
FT_INLINE void hand_out(LargeBlock *e, const LargeBlock &b) {
  if (b.user == e->user) {
    unpark(e, b);
  } else {
    erase(e);
    insert(b);  // cannot fail: e's room
  }
}

// calloc() of a cached mapping: its pages held a block before (valgrind saw that block freed).
FT_HOT_TEXT void zero_reused(void *p, size_t n) {
  vg::open(p, n);
  memset(p, 0, n);
}

// allocate() when its first try found no mapping of the very length (or a guard page or an
// alignment beyond a page is asked for): the cache's other mappings, or a new one.
FT_HOT_TEXT void *allocate_new(size_t n, size_t need, size_t align, bool zero) {
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
  size_t total = len + guard;
  struct {
    uintptr_t base;
    size_t len;
  } m = {0, 0};  // a cached mapping to resize
  bool resize = false;
  Unmaps gone;
  {
    HeapLock lock;
    // A cached mapping that fits as it is: no system call. With a guard page, only one of the
    // same length (its guard already in place).
    if (LargeBlock *e = cache::take(total, guard ? page : align, guard != 0)) {
      LargeBlock b = place(e->base, e->map_len, guard, n, need, align);
      hand_out(e, b);
      lock.unlock();
      if (zero) zero_reused(reinterpret_cast<void *>(b.user), n);
      counters::note_large_alloc(n);
      return reinterpret_cast<void *>(b.user);
    }
    // One to resize costs one system call instead of two, and its pages are resident.
    if (!guard && align <= page) {
      if (LargeBlock *e = cache::take_to_resize(total)) {
        m = {e->base, e->map_len};
        erase(e);
        resize = true;
      }
    }
    if (!resize) cache::note_miss();
    // A longer one is split: its tail waits in the cache as a mapping of its own, resident, for
    // a later request (munmap'ing it cost a system call and the faults of its pages next time:
    // large-churn made 290,000 page faults per 1000 steps, glibc 92,000).
    if (resize && m.len > total) {
      cache::keep_tail(m.base + total, m.len - total, &gone);
      m.len = total;
    }
  }
  gone.run();
  void *p = nullptr;
  size_t counted = 0;  // the bytes of p's mapping that the counters hold already (a cached one's)
  if (resize && m.len == total) {
    p = reinterpret_cast<void *>(m.base);
    counted = total;
  } else if (resize) {
    if ((p = os::remap(reinterpret_cast<void *>(m.base), m.len, total))) counted = m.len;
    else unmap(m.base, m.len);
  }
  if (p && zero) zero_reused(p, m.len < n ? m.len : n);  // what mremap added reads as zero
  // With a guard, the block is placed at the end of its pages, so alignment comes from there.
  if (!p) p = os::map_aligned(total, guard || align < page ? page : align);
  if (!p) {
    errno = ENOMEM;
    return nullptr;
  }
  uintptr_t base = reinterpret_cast<uintptr_t>(p);
  if (guard) os::protect_none(reinterpret_cast<void *>(base + len), guard);
  LargeBlock b = place(base, total, guard, n, need, align);
  bool recorded;
  {
    HeapLock lock;
    counters::note_mapped(static_cast<int64_t>(total - counted), true);
    // b.user < base: an alignment beyond the block's pages, the tight fit given up.
    recorded = b.user >= base && insert(b);
  }
  if (!recorded) {
    unmap(base, total);
    errno = ENOMEM;
    return nullptr;
  }
  counters::note_large_alloc(n);
  return reinterpret_cast<void *>(b.user);
}

// A new mapping of len bytes for a block of n whose first from_len bytes are the pages of `from`,
// moved there (two mremaps: `from` keeps its range, reading as zero, and the moved pages then
// grow to len, moving again if they must). nullptr, `from` as it was: the system refused.
FT_HOT_TEXT void *move_in(size_t n, size_t len, void *from, size_t from_len) {
  void *moved = os::move_pages(from, from_len);
  if (!moved) return nullptr;
  void *q = os::remap(moved, from_len, len);
  auto base = reinterpret_cast<uintptr_t>(q);
  bool recorded = false;
  if (q) {
    HeapLock lock;
    counters::note_mapped(static_cast<int64_t>(len), true);
    recorded = insert(LargeBlock{base, base, len, n, base + len});
    if (recorded) cache::note_miss();
  }
  if (recorded) {
    counters::note_large_alloc(n);
    return q;
  }
  memcpy(from, q ? q : moved, from_len);  // back where they were, by copy
  if (q) unmap(base, len);
  else os::unmap(moved, from_len);
  return nullptr;
}

[[gnu::noinline]] FT_HOT_TEXT void *allocate_slow(size_t n, size_t need, size_t align, bool zero) {
  void *p = allocate_new(n, need, align, zero);
  if (__builtin_expect(!p, 0) && g_after_refusal()) p = allocate_new(n, need, align, zero);
  return p;
}

}  // namespace

FT_HOT_TEXT void *allocate(size_t n, size_t need, size_t align, bool zero) {
  // The common case first: no guard, a page's alignment, and a cached mapping of the very length
  // (a loop of one size); what it takes is placed at the mapping's start, which keyed its entry.
  // Out of line, the rest made this path save six registers and set up its Unmaps (LARGE
  // malloc + free: 377 -> 354 instructions).
  size_t len = os::round_to_pages(need);
  if (__builtin_expect(!g_config.guard && align <= os::page_size() && len >= need, 1)) {
    HeapLock lock;
    if (LargeBlock *e = cache::take_last(len, align)) {
      uintptr_t base = e->base;
      reuse(e, n);
      lock.unlock();
      if (zero) zero_reused(reinterpret_cast<void *>(base), n);
      counters::note_large_alloc(n);
      return reinterpret_cast<void *>(base);
    }
  }
  return allocate_slow(n, need, align, zero);
}

FT_HOT_TEXT void *allocate_grown(size_t n, size_t need, void *from, size_t from_len, bool *moved) {
  *moved = false;
  size_t len = os::round_to_pages(need);
  if (len < need || g_config.guard) return allocate(n, need, os::page_size(), false);
  size_t max_len = len > SIZE_MAX / kRoomFactor ? SIZE_MAX : len * kRoomFactor;
  if (max_len < len + kRoomBytes) max_len = len + kRoomBytes;  // len <= PTRDIFF_MAX: no overflow
  bool cache_empty;
  {
    HeapLock lock;
    if (LargeBlock *e = cache::take_room(len, max_len)) {
      LargeBlock b = place(e->base, e->map_len, 0, n, need, os::page_size());
      hand_out(e, b);
      lock.unlock();
      counters::note_large_alloc(n);
      return reinterpret_cast<void *>(b.user);
    }
    cache_empty = !cache::holds_any();
  }
  // The cache's other mappings are resident too: allocate() resizes one.
  if (cache_empty && from_len && len > from_len) {
    if (void *q = move_in(n, len, from, from_len)) {
      *moved = true;
      return q;
    }
  }
  return allocate(n, need, os::page_size(), false);
}

FT_HOT_TEXT void release(LargeBlock *b, Unmaps *gone) { cache::keep(b, gone); }

FT_HOT_TEXT bool free_live(uintptr_t p) {
  if (!p) __builtin_unreachable();  // heap_free_slow's test: the lookup need not make it again
  Unmaps gone;
  {
    HeapLock lock;
    LargeBlock *b = find(p);
    if (!b) return false;
    cache::keep(b, &gone);
  }
  // Only the system calls can change errno, which free() keeps: saved when there are some.
  if (gone.n) {
    int saved_errno = errno;
    gone.run();
    errno = saved_errno;
  }
  return true;
}

FT_HOT_TEXT Unmap resize_in_place(LargeBlock *b, size_t n, size_t need) {
  if (n >= b->size) {
    b->size = n;
    return Unmap{0, 0};
  }
  size_t keep = os::round_to_pages(b->user - b->base + need);
  size_t drop = b->map_len > keep ? b->map_len - keep : 0;
  b->size = n;
  if (!drop) return Unmap{0, 0};
  uintptr_t tail = b->base + keep;
  resize(b, keep);
  return Unmap{tail, drop};
}

FT_HOT_TEXT bool can_regrow(const LargeBlock &b) { return b.user == b.base && !g_config.guard; }

FT_HOT_TEXT void *regrow(LargeBlock *b, size_t n, size_t need, HeapLock &lock, size_t *old_size) {
  LargeBlock old = *b;
  size_t len = os::round_to_pages(need);
  erase(b);
  lock.unlock();
  void *q = os::remap(reinterpret_cast<void *>(old.base), old.map_len, len);
  lock.relock();
  uintptr_t a = reinterpret_cast<uintptr_t>(q);
  if (q) counters::note_mapped(static_cast<int64_t>(len) - static_cast<int64_t>(old.map_len), true);
  // Cannot fail: the table holds one entry fewer than before the erase.
  insert(q ? LargeBlock{a, a, len, n, a + len} : old);
  *old_size = old.size;
  return q;
}

}  // namespace ft::large
