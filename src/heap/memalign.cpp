#include "heap/memalign.h"
#include "base/compiler.h"

#include "heap/allocate.h"
#include "os/mapping.h"

namespace ft {

FT_HOT_TEXT void *heap_memalign(size_t align, size_t n, void *caller) {
  // glibc's bound: above 2^63 no power of two is left to round up to.
  if (align > SIZE_MAX / 2 + 1) return traced(call_log::Op::kMemalign, align, n, fail(EINVAL));
  if (align <= kMinAlign) align = kMinAlign;  // 0 included, as glibc: malloc's alignment
  else if (!is_pow2(align)) align = size_t{1} << (64 - __builtin_clzll(align));  // glibc rounds up
  return traced(call_log::Op::kMemalign, align, n, allocate(n, align, false, caller));
}

FT_HOT_TEXT int heap_posix_memalign(void **out, size_t align, size_t n, void *caller) {
  if (!is_pow2(align) || align % sizeof(void *)) return EINVAL;
  int saved_errno = errno;
  void *p = traced(call_log::Op::kMemalign, align, n, allocate(n, align, false, caller));
  if (!p) return ENOMEM;  // errno is ENOMEM too, as glibc leaves it (its tests read it)
  errno = saved_errno;
  *out = p;
  return 0;
}

FT_HOT_TEXT void *heap_aligned_alloc(size_t align, size_t n, void *caller) {
  if (!is_pow2(align)) return fail(EINVAL);  // glibc 2.38 and C23
  return traced(call_log::Op::kMemalign, align, n, allocate(n, align, false, caller));
}

FT_HOT_TEXT void *heap_valloc(size_t n, void *caller) {
  return traced(call_log::Op::kMemalign, os::page_size(), n, allocate(n, os::page_size(), false, caller));
}

FT_HOT_TEXT void *heap_pvalloc(size_t n, void *caller) {
  size_t page = os::page_size();
  size_t rounded;
  if (__builtin_add_overflow(n, page - 1, &rounded)) return fail(ENOMEM);
  rounded &= ~(page - 1);
  return traced(call_log::Op::kMemalign, page, rounded ? rounded : page, allocate(rounded ? rounded : page, page, false, caller));
}

}  // namespace ft
