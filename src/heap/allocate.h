// Where every allocation ends, whatever entry point it came from: a chunk of the first class
// that holds the request (and the debug modes' padding) at the alignment asked, from this
// thread's cache or the zone pool, or a LARGE mapping. And the pieces every entry point shares:
// the request limit, errno on failure, the call log.
#pragma once
#include <cerrno>
#include <cstddef>
#include <cstdint>

#include "base/settings.h"
#include "base/size_class.h"
#include "debug/call_log.h"
#include "heap/fork_rescue.h"
#include "large/large_block.h"

namespace ft {

// Larger requests fail: pointer differences within a block must fit ptrdiff_t (glibc's rule).
inline constexpr size_t kMaxRequest = PTRDIFF_MAX;

// errno = e, nullptr: every failure of an entry point goes through here.
inline void *fail(int e) {
  errno = e;
  return nullptr;
}

inline bool is_pow2(size_t a) { return a && !(a & (a - 1)); }

// Any request (allocate's general path): the limits, the rescue child, the debug modes' padding
// and hooks, the alignment classes, LARGE blocks placed for an alignment.
void *allocate_any(size_t n, size_t align, bool zero, void *caller, size_t at_least);

// n bytes aligned to `align` (a power of two), zeroed when `zero`; `caller` is the return
// address of the entry point the program called (FT_MALLOC_LEAKS). at_least: a chunk of at least
// that many bytes even if n needs fewer (realloc's growth room). nullptr with errno = ENOMEM,
// when even a second try failed after the heap gave back what it keeps (heap/trim.h).
// Inline: a plain LARGE request (more than the largest class, within the limit, the default
// alignment, no debug mode to pad or watch it, not the rescue child) goes straight to the LARGE
// layer, which zeroes a reused mapping for calloc; a loop of big mallocs and frees skips the rest.
inline void *allocate(size_t n, size_t align, bool zero, void *caller, size_t at_least = 0) {
  if (__builtin_expect(n - (kSmallMax + 1) <= kMaxRequest - (kSmallMax + 1) && align == kMinAlign &&
                           !g_config.debug() && !rescue::on(), 0))
    return large::allocate(n, n, align, zero);
  return allocate_any(n, align, zero, caller, at_least);
}

// Logs one call for FT_MALLOC_TRACE; only the entry-level functions log, never their helpers.
template <typename T>
T *traced(call_log::Op op, uint64_t a, uint64_t b, T *result) {
  if (g_config.trace) {
    call_log::record(op, a, b, reinterpret_cast<uint64_t>(result));
    call_log::record_mapping();
  }
  return result;
}

}  // namespace ft
