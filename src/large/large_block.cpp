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

// The length of a mapping for `need` bytes (not 0), no guard page: whole pages, or whole table
// spans from one on, so that its pages can move with their page tables (large_cache.h,
// Gathering; a realloc's mremap). The pages past `need` cost address space, no memory until
// touched. Wraps to less than need when need is too big.
FT_INLINE size_t mapping_len(size_t need) {
  size_t span = os::table_span();
  return need < span ? os::round_to_pages(need) : (need + span - 1) & ~(span - 1);
}

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
FT_INLINE void hand_out(LargeBlock *e, LargeBlock b) {
  b.parts = e->parts;  // the same mapping
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

// A new mapping of len bytes whose first pages are the pieces' (out of the cache: take_pieces),
// moved there side by side, the rest fresh; the first piece grows into it where it can (an area
// fewer). nullptr, every piece unmapped, when the system refuses. *counted: the bytes of the
// pieces in it, which the counters hold already; *used: where the last of them ends (the bytes
// before may be old, those after read as zero).
FT_HOT_TEXT void *gather(size_t len, const cache::Piece *pieces, unsigned n, size_t *counted, size_t *used) {
  unsigned i = 1;
  auto *p = static_cast<char *>(os::remap(reinterpret_cast<void *>(pieces[0].base), pieces[0].len, len));
  if (!p) {  // a piece of several areas cannot grow: moved in as the others
    i = 0;
    p = static_cast<char *>(os::map(len));
  }
  size_t at = i ? pieces[0].len : 0;
  *counted = *used = at;
  bool lost = false;
  for (; i < n && p && !lost; at += pieces[i++].len) {
    if (os::move_to(reinterpret_cast<void *>(pieces[i].base), pieces[i].len, p + at, &lost)) {
      *counted += pieces[i].len;
      *used = at + pieces[i].len;
    } else {
      unmap(pieces[i].base, pieces[i].len);  // its place stays fresh
    }
  }
  for (; i < n; ++i) unmap(pieces[i].base, pieces[i].len);
  if (!p || !lost) return p;
  os::unmap(p, len);  // a hole in it: given up
  HeapLock lock;
  counters::note_mapped(-static_cast<int64_t>(*counted), true);
  return nullptr;
}

// allocate() when its first try found no mapping of the very length (or a guard page or an
// alignment beyond a page is asked for): the cache's other mappings, or a new one.
FT_HOT_TEXT void *allocate_new(size_t n, size_t need, size_t align, bool zero) {
  size_t page = os::page_size();
  size_t guard = g_config.guard ? page : 0;
  // With a guard the block sits at the end of its pages, rounded down to its alignment: room for
  // that rounding comes on top.
  size_t slack = guard && align > page ? align : 0;
  size_t len = guard ? os::round_to_pages((need ? need : 1) + slack) : mapping_len(need ? need : 1);
  if (len < need || len + guard < len) {
    errno = ENOMEM;
    return nullptr;
  }
  size_t total = len + guard;
  struct {
    uintptr_t base;
    size_t len;
  } m = {0, 0};  // a cached mapping to split
  cache::Piece pieces[cache::kMaxPieces];
  unsigned n_pieces = 0, parts = 1;
  Unmaps gone;
  {
    HeapLock lock;
    // A cached mapping that fits as it is: no system call. With a guard page, only one of the
    // same length (its guard already in place).
    if (LargeBlock *e = cache::take(total, guard ? page : align, guard != 0)) {
      LargeBlock b = place(e->base, e->map_len, guard, n, need, align);
      hand_out(e, b);
      counters::note_large_alloc(n);
      lock.unlock();
      if (zero) zero_reused(reinterpret_cast<void *>(b.user), n);
      return reinterpret_cast<void *>(b.user);
    }
    // A longer one is split: its tail waits in the cache as a mapping of its own, resident, for
    // a later request (munmap'ing it cost a system call and the faults of its pages next time:
    // large-churn made 290,000 page faults per 1000 steps, glibc 92,000). Else the pages of
    // shorter ones are gathered.
    if (!guard && align <= page) {
      size_t span = os::table_span();
      if (LargeBlock *e = cache::take_to_split(total)) {
        m = {e->base, e->map_len};
        parts = parts_within(e->parts, m.base, total, span);
        if (m.len > total) cache::keep_tail(m.base + total, m.len - total, parts_within(e->parts, m.base + total, m.len - total, span), &gone);
        erase(e);
      } else if (total >= span) {
        n_pieces = cache::take_pieces(total, span, pieces, &parts);
      }
    }
    if (!m.len && !n_pieces) cache::note_miss();
  }
  gone.run();
  void *p = nullptr;
  size_t counted = 0;  // the bytes of p's mapping that the counters hold already (cached ones')
  size_t used = 0;     // the bytes at its start that held blocks before (fresh ones read as zero)
  if (m.len) {
    p = reinterpret_cast<void *>(m.base);
    counted = used = total;
  } else if (n_pieces) {
    p = gather(total, pieces, n_pieces, &counted, &used);
  }
  if (!p) parts = 1;
  if (p && zero) zero_reused(p, used < n ? used : n);
  // With a guard, the block is placed at the end of its pages, so alignment comes from there.
  if (!p) p = os::map_aligned(total, guard || align < page ? page : align);
  if (!p) {
    errno = ENOMEM;
    return nullptr;
  }
  uintptr_t base = reinterpret_cast<uintptr_t>(p);
  if (guard) os::protect_none(reinterpret_cast<void *>(base + len), guard);
  LargeBlock b = place(base, total, guard, n, need, align);
  b.parts = static_cast<uint16_t>(parts);
  bool recorded;
  {
    HeapLock lock;
    counters::note_mapped(static_cast<int64_t>(total - counted), true);
    // b.user < base: an alignment beyond the block's pages, the tight fit given up.
    recorded = b.user >= base && insert(b);
    if (recorded) counters::note_large_alloc(n);
  }
  if (!recorded) {
    unmap(base, total);
    errno = ENOMEM;
    return nullptr;
  }
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
    if (recorded) {
      cache::note_miss();
      counters::note_large_alloc(n);
    }
  }
  if (recorded) return q;
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
  // Whole pages: a size of whole spans (mapping_len) finds its mapping here, another one from a
  // span on in allocate_new's take (mapping_len in the first lines cost 6 instructions a pair).
  size_t len = os::round_to_pages(need);
  if (__builtin_expect(!g_config.guard && align <= os::page_size() && len >= need, 1)) {
    HeapLock lock;
    if (LargeBlock *e = cache::take_last(len, align)) {
      uintptr_t base = e->base;
      reuse(e, n);
      counters::note_large_alloc(n);
      lock.unlock();
      if (zero) zero_reused(reinterpret_cast<void *>(base), n);
      return reinterpret_cast<void *>(base);
    }
  }
  return allocate_slow(n, need, align, zero);
}

FT_HOT_TEXT void *allocate_grown(size_t n, size_t need, void *from, size_t from_len, bool *moved) {
  *moved = false;
  size_t len = mapping_len(need);
  if (len < need || g_config.guard) return allocate(n, need, os::page_size(), false);
  size_t max_len = len > SIZE_MAX / kRoomFactor ? SIZE_MAX : len * kRoomFactor;
  if (max_len < len + kRoomBytes) max_len = len + kRoomBytes;  // len <= PTRDIFF_MAX: no overflow
  bool cache_empty;
  {
    HeapLock lock;
    if (LargeBlock *e = cache::take_room(len, max_len)) {
      LargeBlock b = place(e->base, e->map_len, 0, n, need, os::page_size());
      hand_out(e, b);
      counters::note_large_alloc(n);
      lock.unlock();
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
  size_t keep = mapping_len(b->user - b->base + need);
  size_t drop = b->map_len > keep ? b->map_len - keep : 0;
  b->size = n;
  if (!drop) return Unmap{0, 0};
  uintptr_t tail = b->base + keep;
  resize(b, keep);
  return Unmap{tail, drop};
}

FT_HOT_TEXT bool can_regrow(const LargeBlock &b) { return b.user == b.base && !g_config.guard && b.parts == 1; }

FT_HOT_TEXT void *regrow(LargeBlock *b, size_t n, size_t need, HeapLock &lock, size_t *old_size) {
  LargeBlock old = *b;
  size_t len = mapping_len(need);
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
