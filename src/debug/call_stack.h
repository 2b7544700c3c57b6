// The call stack of an allocation, as return addresses (FT_MALLOC_LEAKS and the heap profiles:
// FT_MALLOC_FOLDED, FT_MALLOC_FOLDED_ALLOC, FT_MALLOC_PPROF). Taken with libgcc's unwinder where the
// process has it, else with glibc's backtrace(); the allocator's own frames are dropped.
#pragma once
#include <cstdint>

namespace ft::call_stack {

// Frames kept per stack: deep enough for a flame graph to reach main in most programs (an
// interpreter's stacks run deep: python3's take 4 to 6 frames per call of the script's), shallow
// enough that unwinding stays a small part of a tracked allocation.
inline constexpr unsigned kMaxDepth = 64;

// At start-up, when stacks are recorded: gets the unwinder ready (it may allocate, once).
void prepare();
// Fills `frames` (kMaxDepth) innermost first, from `caller` (the return address of the entry point
// the program called) outwards; returns how many, and whether outer frames were left out (*cut).
// 0 when called from inside the unwinder itself (its own first allocation), which is then not
// recorded.
unsigned capture(void *caller, uintptr_t *frames, bool *cut);

}  // namespace ft::call_stack
