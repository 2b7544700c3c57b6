// The exported C entry points: every name libc's allocator exports, each forwarding to the heap.
// All of them live in this one object file, so a program that links only malloc and free from
// libft_malloc.a still gets our realloc, posix_memalign, ... (never libc's next to our free).
#include <ft_malloc.h>
#include <malloc.h>

#include <cerrno>
#include <climits>
#include <cstdio>

#include "api/startup.h"
#include "base/compiler.h"
#include "base/line_writer.h"
#include "base/settings.h"
#include "heap/fork_rescue.h"
#include "heap/heap.h"
#include "introspect/heap_check.h"
#include "introspect/statistics.h"
#include "os/mapping.h"
#include "show_alloc_mem/dump.h"

// Aliases share their target's code; glibc's declarations carry attributes (leaf, alloc_size)
// that an alias cannot restate.
#pragma GCC diagnostic ignored "-Wmissing-attributes"

#define FT_CALLER __builtin_return_address(0)
#define FT_API extern "C" __attribute__((visibility("default")))

namespace {

// The slow paths of malloc, free and realloc, out of line so that their fast paths stay small:
// start-up first (one load and a branch once it has run), then the heap.
[[gnu::noinline]] FT_CORE_TEXT void *malloc_slow(size_t n, void *caller) {
  ft::ensure_started();
  return ft::heap_malloc_slow(n, caller);
}
[[gnu::noinline]] FT_CORE_TEXT void *calloc_slow(size_t count, size_t size, void *caller) {
  ft::ensure_started();
  return ft::heap_calloc(count, size, caller);
}
[[gnu::noinline]] FT_CORE_TEXT void free_slow(void *p, uintptr_t entry) {
  // First the frees that take no lock: another of this thread's zones, another thread's zone, a
  // zone nobody owns (a thread without a cache yet has no zones: start-up can wait). Never in a
  // rescue child, whose inherited heap is not to be written. A LARGE block has no entry.
  if (entry && !ft::rescue::on() && ft::tcache::free_unlocked(p, entry)) return;
  ft::ensure_started();
  ft::heap_free_slow(p, ft::Call::kFree);
}
[[gnu::noinline]] FT_HOT_TEXT void *realloc_slow(void *p, size_t n, void *caller) {
  ft::ensure_started();
  return ft::heap_realloc_slow(p, n, caller);
}
// realloc past its in-place fast path: a move through the thread's cache, else the slow path.
[[gnu::noinline]] FT_HOT_TEXT void *realloc_moving(void *p, size_t n, void *caller) {
  if (void *q = ft::heap_realloc_fast(p, n)) return q;
  return realloc_slow(p, n, caller);
}

}  // namespace

// malloc, free and realloc: this thread's cache first, inline and without a lock (heap/malloc.h,
// heap/free.h, heap/realloc.h); the rest of the entry points go to the heap at once.
FT_API FT_CORE_TEXT void *malloc(size_t size) noexcept { return ft::heap_malloc<malloc_slow>(size); }
FT_API FT_CORE_TEXT void free(void *ptr) noexcept { ft::heap_free<free_slow>(ptr); }
FT_API FT_HOT_TEXT void *realloc(void *ptr, size_t size) noexcept {
  if (ft::heap_resize_fast(ptr, size)) return ptr;
  return realloc_moving(ptr, size, FT_CALLER);
}
FT_API FT_CORE_TEXT void *calloc(size_t count, size_t size) noexcept {
  return ft::heap_calloc_fast<calloc_slow>(count, size);
}
FT_API FT_HOT_TEXT void *reallocarray(void *ptr, size_t count, size_t size) noexcept {
  ft::ensure_started();
  return ft::heap_reallocarray(ptr, count, size, FT_CALLER);
}
FT_API FT_HOT_TEXT void *memalign(size_t alignment, size_t size) noexcept {
  ft::ensure_started();
  return ft::heap_memalign(alignment, size, FT_CALLER);
}
FT_API FT_HOT_TEXT int posix_memalign(void **memptr, size_t alignment, size_t size) noexcept {
  ft::ensure_started();
  return ft::heap_posix_memalign(memptr, alignment, size, FT_CALLER);
}
FT_API FT_HOT_TEXT void *aligned_alloc(size_t alignment, size_t size) noexcept {
  ft::ensure_started();
  return ft::heap_aligned_alloc(alignment, size, FT_CALLER);
}
FT_API FT_HOT_TEXT void *valloc(size_t size) noexcept {
  ft::ensure_started();
  return ft::heap_valloc(size, FT_CALLER);
}
FT_API FT_HOT_TEXT void *pvalloc(size_t size) noexcept {
  ft::ensure_started();
  return ft::heap_pvalloc(size, FT_CALLER);
}
FT_API FT_HOT_TEXT size_t malloc_usable_size(void *ptr) noexcept {
  ft::ensure_started();
  return ft::heap_usable_size(ptr);
}
FT_API FT_HOT_TEXT void free_sized(void *ptr, size_t size) noexcept {
  ft::ensure_started();
  ft::heap_free_slow(ptr, ft::Call::kFreeSized, size);
}
FT_API FT_HOT_TEXT void free_aligned_sized(void *ptr, size_t alignment, size_t size) noexcept {
  ft::ensure_started();
  ft::heap_free_slow(ptr, ft::Call::kFreeAlignedSized, size, alignment);
}

// Looking at the heap.
FT_API void show_alloc_mem(void) noexcept { ft::dump_heap(1); }
FT_API void show_alloc_mem_ex(void) noexcept { ft::dump_heap_ex(1); }
FT_API int ft_malloc_check(void) noexcept { return ft::check_heap(); }

// glibc's statistics and tuning calls.
FT_API void malloc_stats(void) noexcept { ft::stats::print_malloc_stats(); }
FT_API struct mallinfo2 mallinfo2(void) noexcept {
  ft::stats::Mallinfo2 m = ft::stats::mallinfo2();
  return {m.arena, m.ordblks, m.smblks, m.hblks, m.hblkhd, m.usmblks, m.fsmblks, m.uordblks, m.fordblks, m.keepcost};
}
// The old int fields: a figure past INT_MAX reads INT_MAX rather than wrapping to a negative.
FT_API struct mallinfo mallinfo(void) noexcept {
  ft::stats::Mallinfo2 m = ft::stats::mallinfo2();
  auto clamp = [](size_t v) { return v > INT_MAX ? INT_MAX : static_cast<int>(v); };
  return {clamp(m.arena),   clamp(m.ordblks),  clamp(m.smblks),   clamp(m.hblks),    clamp(m.hblkhd),
          clamp(m.usmblks), clamp(m.fsmblks),  clamp(m.uordblks), clamp(m.fordblks), clamp(m.keepcost)};
}
// The figures are taken under the heap lock; the XML goes to fp after it is released, since
// stdio may allocate. Options other than 0 are refused, as glibc refuses them.
FT_API int malloc_info(int options, FILE *fp) noexcept {
  if (options != 0 || !fp) return EINVAL;
  ft::stats::Snapshot s;
  ft::stats::take_snapshot(&s);
  ft::LineWriter out([](const char *bytes, size_t n, void *f) { fwrite(bytes, 1, n, static_cast<FILE *>(f)); }, fp);
  ft::stats::write_malloc_info(out, s);
  return 0;
}
// pad is ignored: every wholly free zone and every free page goes back.
FT_API int malloc_trim(size_t) noexcept {
  ft::ensure_started();
  return ft::heap_trim();
}
FT_API int mallopt(int param, int value) noexcept {
  ft::ensure_started();
  return ft::set_option(param, value);
}

#ifdef FT_FAULT_INJECTION
// Test builds only (make inject): the next `skip` mappings succeed, then `count` fail.
FT_API void ft_malloc_fail_maps(unsigned long skip, unsigned long count) noexcept { ft::os::fail_maps(skip, count); }
#endif

// Old and internal names that some programs and libraries call directly.
FT_API void cfree(void *ptr) noexcept __attribute__((alias("free")));
FT_API void *__libc_malloc(size_t size) noexcept __attribute__((alias("malloc")));
FT_API void __libc_free(void *ptr) noexcept __attribute__((alias("free")));
FT_API void *__libc_calloc(size_t count, size_t size) noexcept __attribute__((alias("calloc")));
FT_API void *__libc_realloc(void *ptr, size_t size) noexcept __attribute__((alias("realloc")));
FT_API void *__libc_memalign(size_t alignment, size_t size) noexcept __attribute__((alias("memalign")));
