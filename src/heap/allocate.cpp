#include "heap/allocate.h"

#include "base/valgrind_hooks.h"
#include "debug/debug_modes.h"
#include "debug/leaks.h"
#include "heap/fork_rescue.h"
#include "large/large_block.h"
#include "tcache/cache_fast_path.h"
#include "zone/zone_pool.h"

namespace ft {
namespace {

// A TINY or SMALL block: from this thread's cache when the class is cached, else from the zones.
void *zone_alloc(unsigned c, size_t n, bool zero) {
  if (c < kCachedClasses) {
    if (ThreadCache *tc = tcache::current()) {
      void *p = cache_take(tc, c, n, zero);
      return p ? p : fail(ENOMEM);
    }
  }
  return zone_pool::allocate(c, n, zero);
}

// Any request: the limits, the rescue child, the debug modes' padding and hooks, the alignment
// classes, LARGE blocks placed for an alignment.
[[gnu::noinline]] void *allocate_any(size_t n, size_t align, bool zero, void *caller, size_t at_least) {
  if (n > kMaxRequest || align > kMaxRequest) return fail(ENOMEM);
  if (rescue::on()) return rescue::allocate(n, align, zero);
  size_t need = debug::padded(n);
  void *p = nullptr;
  size_t room = n;  // the bytes of the chunk from p on, for valgrind
  if (need <= kSmallMax && align <= kMaxChunkAlign) {
    unsigned c = class_of(need > at_least ? need : at_least);
    // Chunks fall on their size's lowest set bit: 4096 B chunks and above always on a page.
    while (kLayouts[c].chunk_align < align) ++c;
    p = zone_alloc(c, n, zero);
    room = kLayouts[c].chunk_size;
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

}  // namespace

// A plain LARGE request (malloc or calloc of more than the largest class, within the limit, no
// debug mode to pad it or watch it, not the rescue child) goes straight to the LARGE layer,
// which zeroes a reused mapping for calloc: a loop of big mallocs and frees skips the rest.
void *allocate(size_t n, size_t align, bool zero, void *caller, size_t at_least) {
  if (__builtin_expect(n - (kSmallMax + 1) <= kMaxRequest - (kSmallMax + 1) && align == kMinAlign &&
                           !g_config.debug() && !rescue::on(), 0))
    return large::allocate(n, n, align, zero);
  return allocate_any(n, align, zero, caller, at_least);
}

}  // namespace ft
