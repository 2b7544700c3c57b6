#include "heap/malloc.h"
#include "base/compiler.h"

#include "heap/allocate.h"

namespace ft {

namespace {

[[gnu::noinline]] void *malloc_traced(size_t n, void *caller) {
  return traced(call_log::Op::kMalloc, n, 0, allocate(n, kMinAlign, false, caller));
}

}  // namespace

FT_CORE_TEXT void *heap_malloc_slow(size_t n, void *caller) {
  // Without the debug modes (the call log is one) nothing follows the allocation: a tail call,
  // and no register saved (LARGE malloc + free: 345 -> 334 instructions).
  if (__builtin_expect(!g_config.debug(), 1)) return allocate(n, kMinAlign, false, caller);
  return malloc_traced(n, caller);
}

FT_CORE_TEXT void *heap_calloc(size_t count, size_t size, void *caller) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) return traced(call_log::Op::kCalloc, count, size, fail(ENOMEM));
  return traced(call_log::Op::kCalloc, count, size, allocate(n, kMinAlign, true, caller));
}

}  // namespace ft
