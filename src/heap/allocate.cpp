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

// A TINY or SMALL block, one try: from this thread's cache when the class is cached, else from
// the zones; nullptr with errno ENOMEM.
FT_INLINE void *zone_alloc_once(unsigned c, size_t n, bool zero) {
  if (c < kCachedClasses) {
    if (ThreadCache *tc = tcache::current()) {
      void *p = cache_take(tc, c, n, zero);
      return p ? p : fail(ENOMEM);
    }
  }
  return zone_pool::allocate(c, n, zero);
}

// The system refused the memory for a chunk: once more after what is kept for reuse went back
// (the LARGE layer does the same through large::g_after_refusal). Out of line and out of the
// core text, which the retry inline pushed past its fifth page (a program that only mallocs and
// frees then held a page more).
[[gnu::noinline]] FT_HOT_TEXT void *zone_alloc_after_refusal(unsigned c, size_t n, bool zero) {
  return trim_for_retry() ? zone_alloc_once(c, n, zero) : fail(ENOMEM);
}

FT_INLINE void *zone_alloc(unsigned c, size_t n, bool zero) {
  void *p = zone_alloc_once(c, n, zero);
  return __builtin_expect(p != nullptr, 1) ? p : zone_alloc_after_refusal(c, n, zero);
}

}  // namespace

FT_CORE_TEXT void *allocate_any(size_t n, size_t align, bool zero, void *caller, size_t at_least) {
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

}  // namespace ft
