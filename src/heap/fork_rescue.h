// The allocator of a fork child whose parent thread was inside the heap's locked section when it
// forked (fork() from a signal handler that interrupted malloc or free: crash reporters do this).
// The heap the child inherits is halfway through a change that only the interrupted frame can
// finish, so the child never writes to it again: from then on its blocks come from fresh
// mappings, bump-allocated, and frees of the parent's blocks are ignored (the memory goes back at
// exit or exec). Slow and simple, and it cannot hang or corrupt anything. See
// api/fork_handlers.h.
#pragma once
#include <cstddef>

namespace ft::rescue {

// True in such a child, for the rest of its life. Read on the slow paths only.
extern bool g_on;
inline bool on() { return __builtin_expect(g_on, 0); }

// Called once, in the child, by the fork handler.
void enter();

// A block of n bytes aligned to `align` (a power of two), zeroed when `zero`; nullptr with
// errno = ENOMEM when the system refuses.
void *allocate(size_t n, size_t align, bool zero);
// The usable size of a block allocate() returned, or 0 if p is not one.
size_t usable_size(const void *p);
// Frees a block allocate() returned (its own mapping goes back if it had one); other pointers
// are ignored.
void release(void *p);

}  // namespace ft::rescue
