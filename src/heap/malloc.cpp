#include "heap/malloc.h"

#include "heap/allocate.h"

namespace ft {

void *heap_malloc_slow(size_t n, void *caller) {
  return traced(call_log::Op::kMalloc, n, 0, allocate(n, kMinAlign, false, caller));
}

void *heap_calloc(size_t count, size_t size, void *caller) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) return traced(call_log::Op::kCalloc, count, size, fail(ENOMEM));
  return traced(call_log::Op::kCalloc, count, size, allocate(n, kMinAlign, true, caller));
}

}  // namespace ft
