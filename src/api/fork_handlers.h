// fork(): the handlers that keep the heap usable in a child, registered once at start-up.
//
// The order of locks. glibc's fork() runs the pthread_atfork prepare handlers first, then takes
// the list lock of the stdio streams (_IO_list_lock, when the process has threads), then its own
// malloc's locks. A handler that simply took the heap lock would hold it while fork() waits for
// the stdio list lock, the reverse of the order of a thread in getline() (holding its stream's
// lock, reallocating) while a third thread in fflush(NULL) holds the list lock and waits for that
// stream: a cycle, and a hang. So the prepare handler takes the stdio list lock itself first
// (libio's locks are recursive: fork() taking it again from the same thread just counts), then
// the heap lock. The heap lock is a leaf: no code holding it takes any other lock or calls
// stdio, so a thread holding a stream's lock waits for the heap lock only until its holder
// returns, and nothing waits while holding the heap lock. No cycle can form.
//
// fork() from a signal handler. When the handler interrupted this very thread inside the
// allocator's locked section (t_lock_depth, os/heap_lock.h), waiting for the lock would wait for
// ourselves. The prepare handler then takes nothing; the parent goes on as before (the
// interrupted frame still owns its lock), and the child, whose inherited heap is halfway through a
// change, switches to the rescue allocator (heap/fork_rescue.h) for the rest of its life. A handler
// that interrupted the thread cache's lock-free paths instead is handled in the child like the
// threads that are gone: every cache's zones are recounted and given to the pool
// (tcache::after_fork_in_child).
//
// A process with one thread, forked outside the allocator's unlocked changes (the common fork: a
// shell, make, a script starting a command), needs none of that: its heap was consistent when
// fork() was called, no other thread's cache exists, and the heap mutex was never taken
// (os/heap_lock.h). The child then keeps its cache and its zones as they are, and writes nothing
// of the heap: each page the handler wrote was one the kernel had to copy for the child.
// Recounting and giving back every zone of a process holding 20,000 blocks made its child take
// 173 page faults before its first instruction (glibc's 16; 19 now), one holding ten blocks 39
// (17). An interrupted push or pop of a stack can only have lost the chunk it was moving, never
// damaged a zone; the paths that change the zones and their lists without the lock say they are
// running (tcache::UnlockedChange), and a fork from inside one takes the long way above. In a
// process with threads, the forking thread's own cache is kept the same way (its ring of
// remote-free notices starts afresh, marked lost); the other threads' caches give their zones
// back.
#pragma once

namespace ft {

void install_fork_handlers();

}  // namespace ft
