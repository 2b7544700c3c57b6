// Every distinct call stack that allocated, once, with what it allocated over the whole run: the
// heap profiles' "allocated" side (FT_MALLOC_FOLDED_ALLOC, FT_MALLOC_PPROF). The leak tracker
// (leaks.h) points each live block at its stack here, so a stack is stored once however many
// blocks it made. Stacks are appended and never removed: an id stays valid for the whole run.
//
// Guarded by the heap lock (src/README.md, "Synchronization"); in mappings of its own, grown by
// doubling: nothing here allocates.
#pragma once
#include <cstddef>
#include <cstdint>

#include "debug/call_stack.h"

namespace ft::stacks {

struct Stack {
  uint64_t allocs, alloc_bytes;      // every allocation from here (a realloc: one of its new size)
  uint64_t live_blocks, live_bytes;  // filled in by leaks::snapshot() only
  uint32_t depth, hash;
  bool cut;                          // deeper than kMaxDepth: the outer frames are not here
  uintptr_t frames[call_stack::kMaxDepth];  // innermost first: [0] in the allocator's caller
};

// Under the heap lock: the id (from 1) of this stack (`cut`: its outer frames were left out),
// added if new, with one allocation of n bytes counted; 0 when no memory could be mapped for it.
uint32_t note_alloc(const uintptr_t *frames, unsigned depth, bool cut, size_t n);
// Under the heap lock: the stack of an id note_alloc returned.
Stack &at(uint32_t id);
// Under the heap lock: how many stacks there are (ids 1..count()).
uint32_t count();

}  // namespace ft::stacks
