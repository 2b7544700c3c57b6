// Leak tracking (FT_MALLOC_LEAKS=1, ft_heap --leaks): the call site of every live block, and at
// exit the blocks still live grouped by where they were allocated, biggest first:
//   12,288 bytes in 3 blocks allocated at main+0x2c (./prog) <- __libc_start_main+0x8a (libc.so.6)
// Call sites are recorded only when tracking is on (it turns the thread cache off), so the normal
// paths cost nothing. The records live in their own mapping, a hash table keyed by the block.
#pragma once
#include <cstddef>

namespace ft::leaks {

// At start-up, when tracking is on: gets the unwinder ready (it may allocate, once).
void prepare();
// Records (or updates) the block p of n bytes, allocated from `caller` (the return address of
// the allocator entry point the program called).
void record(void *p, size_t n, void *caller);
void forget(void *p);
// The report: one line per call site, then a summary line. Returns the bytes still live.
size_t report(int fd);

}  // namespace ft::leaks
