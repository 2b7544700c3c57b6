// The call log (FT_MALLOC_TRACE=FILE, ft_heap --trace): every allocator call with its arguments,
// result, thread and time, in the compact binary format documented in README.md ("Call log").
// Tracing turns the thread cache off (config.h), so the hooks sit on the slow paths (heap.cpp).
#pragma once
#include <cstdint>

namespace ft::trace {

enum class Op : uint8_t {
  kMalloc = 1,        // a = size
  kCalloc = 2,        // a = count, b = size
  kRealloc = 3,       // a = old pointer, b = size
  kFree = 4,          // a = pointer
  kMemalign = 5,      // a = alignment, b = size (memalign, aligned_alloc, posix_memalign, valloc, pvalloc)
};

// Opens the log; called once at start-up when FT_MALLOC_TRACE names a file.
void open(const char *path);
// Logs one call. Never allocates, never takes the heap lock.
void record(Op op, uint64_t a, uint64_t b, uint64_t result);

}  // namespace ft::trace
