#include "heap/allocate.h"
#include "base/compiler.h"

#include "base/valgrind_hooks.h"
#include "debug/debug_modes.h"
#include "debug/leaks.h"
#include "heap/fork_rescue.h"
#include "heap/trim.h"
#include "large/large_block.h"
#include "tcache/cache_fast_path.h"
#include "zone/zone_pool.h"

namespace ft {
namespace {

// A TINY or SMALL block: from this thread's cache when the class is cached, else from the zones.
FT_HOT_TEXT void *zone_alloc(unsigned c, size_t n, bool zero) {
  if (c < kCachedClasses) {
    if (ThreadCache *tc = tcache::current()) {
      void *p = cache_take(tc, c, n, zero);
      return p ? p : fail(ENOMEM);
    }
  }
  return zone_pool::allocate(c, n, zero);
}

// A chunk of the first class that holds max(need, at_least) at `align`; *room its size.
FT_CORE_TEXT void *allocate_chunk(size_t n, size_t need, size_t align, bool zero, size_t at_least, size_t *room) {
  unsigned c = class_of(need > at_least ? need : at_least);
  // Chunks fall on their size's lowest set bit: 4096 B chunks and above always on a page.
  while (kLayouts[c].chunk_align < align) ++c;
  *room = kLayouts[c].chunk_size;
  return zone_alloc(c, n, zero);
}

}  // namespace

FT_CORE_TEXT void *allocate_any(size_t n, size_t align, bool zero, void *caller, size_t at_least) {
  if (n > kMaxRequest || align > kMaxRequest) return fail(ENOMEM);
  if (rescue::on()) return rescue::allocate(n, align, zero);
  size_t need = debug::padded(n);
  void *p = nullptr;
  size_t room = n;  // the bytes of the chunk from p on, for valgrind
  if (need <= kSmallMax && align <= kMaxChunkAlign) {
    p = allocate_chunk(n, need, align, zero, at_least, &room);
    // Refused for want of memory: once more after what is kept for reuse went back, without
    // realloc's growth room (the LARGE layer does the same through large::g_after_refusal).
    if (__builtin_expect(!p, 0) && trim_for_retry()) p = allocate_chunk(n, need, align, zero, 0, &room);
    if (!p) return fail(ENOMEM);
  } else {
    p = large::allocate(n, need, align, zero);
  }
  if (p && g_config.debug()) {
    debug::on_alloc(p, n, zero);
    if (g_config.stacks) leaks::record(p, n, caller);
    if (g_config.valgrind) vg::on_alloc(p, n, room, zero);
  }
  return p;
}

}  // namespace ft
