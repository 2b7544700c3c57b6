// Leak tracking (FT_MALLOC_LEAKS=1, ft_heap --leaks): the call stack of every live block, and at
// exit the blocks still live grouped by where they were allocated, biggest first:
//   12,288 bytes in 3 blocks allocated at main+0x2c (./prog) <- __libc_start_main+0x8a (libc.so.6)
// Stacks are recorded only when tracking or a heap profile is on (it turns the thread cache off),
// so the normal paths cost nothing. The records live in their own mapping, a hash table keyed by
// the block, each pointing at its stack in the stack table (stack_table.h).
#pragma once
#include <cstddef>
#include <cstdint>

#include "debug/stack_table.h"

namespace ft {
class LineWriter;
}

namespace ft::leaks {

// Frames that make a call site in the leak report and the JSON snapshot.
inline constexpr unsigned kSiteFrames = 6;

// At start-up, when stacks are recorded: gets the unwinder ready (it may allocate, once).
void prepare();
// Records (or updates) the block p of n bytes, allocated from `caller` (the return address of
// the allocator entry point the program called), and counts the allocation on its stack.
void record(void *p, size_t n, void *caller);
void forget(void *p);

// A copy of every stack with its live blocks and bytes filled in, taken under the heap lock (the
// caller must not hold it). False when there is nothing or no memory; release() gives it back.
struct Snapshot {
  stacks::Stack *stacks;
  size_t count;
};
bool snapshot(Snapshot *s);
void release(Snapshot *s);

// The call sites with live blocks (stacks grouped by their first kSiteFrames frames), biggest
// first. Returns the number of sites.
struct Site {
  const uintptr_t *frames;
  unsigned depth;
  uint64_t bytes, blocks;
};
size_t for_each_site(void (*fn)(const Site &site, void *ctx), void *ctx);
// A site's frames as the leak report names them: "a <- b <- c".
void write_site(LineWriter &out, const Site &site);

// The report: one line per call site, then a summary line. Returns the bytes still live.
size_t report(int fd);

}  // namespace ft::leaks
