#include "api/fork_handlers.h"
#include "base/compiler.h"

#include <pthread.h>

#include <cstdint>

#include "heap/fork_rescue.h"
#include "os/heap_lock.h"
#include "tcache/thread_cache.h"

// glibc's own: __register_atfork (2.3.2) and the list locks, exported since glibc 2.2.5 (libio);
// __libc_single_threaded (2.32) comes with os/heap_lock.h. The list locks are weak: a static
// program that never uses stdio need not link libio for them.
extern "C" {
int __register_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void), void *dso_handle);
extern void *__dso_handle;
void _IO_list_lock(void) __attribute__((weak));
void _IO_list_unlock(void) __attribute__((weak));
void _IO_list_resetlock(void) __attribute__((weak));
}

namespace ft {
namespace {

enum ForkState : uint8_t {
  kNoFork,
  kLocked,       // the prepare handler holds the heap lock (and maybe the stdio list lock)
  kLockedWhole,  // the same, and this thread was in none of its cache's unlocked changes
  kLockedAlone,  // the same in a process of one thread (fork_handlers.h)
  kInterrupted,  // this thread was inside the locked section: nothing taken (see fork_handlers.h)
};
// Per thread: prepare and the parent's or child's handler run on the thread that forks.
__thread ForkState t_fork_state __attribute__((tls_model("initial-exec"))) = kNoFork;
__thread bool t_took_stdio_lock __attribute__((tls_model("initial-exec"))) = false;
__thread bool t_took_heap_mutex __attribute__((tls_model("initial-exec"))) = false;

// Only where glibc's fork() takes the stdio list lock itself (a process with threads): then its
// order is ours; a single-threaded fork() takes none, and neither do we.
bool stdio_list_lock_wanted() {
  return _IO_list_lock && _IO_list_unlock && _IO_list_resetlock && &__libc_single_threaded &&
         !__libc_single_threaded;
}

FT_HOT_TEXT void before_fork() {
  if (t_lock_depth) {
    t_fork_state = kInterrupted;
    return;
  }
  t_took_stdio_lock = stdio_list_lock_wanted();
  if (t_took_stdio_lock) _IO_list_lock();
  t_took_heap_mutex = heap_lock();
  // One thread (os/heap_lock.h: the mutex is not needed then, and was not taken): kLockedAlone.
  t_fork_state = t_fast.unlocked_change ? kLocked : !heap_mutex_needed() ? kLockedAlone : kLockedWhole;
}

FT_HOT_TEXT void after_fork_in_parent() {
  if (t_fork_state != kNoFork && t_fork_state != kInterrupted) {
    heap_unlock(t_took_heap_mutex);
    if (t_took_stdio_lock) _IO_list_unlock();
  }
  t_fork_state = kNoFork;
}

FT_HOT_TEXT void after_fork_in_child() {
  ForkState state = t_fork_state;
  t_fork_state = kNoFork;
  if (state == kInterrupted) {
    // The interrupted frame will release the lock itself if the handler ever returns to it.
    tcache::turn_off_in_this_thread();
    rescue::enter();
    return;
  }
  if (state == kLockedAlone) {  // nothing to mend, no mutex taken (fork_handlers.h)
    t_lock_depth = 0;
    return;
  }
  if (state != kLocked && state != kLockedWhole) return;
  // The child has one thread, ours: a fresh mutex is simpler and surer than unlocking one whose
  // owner, for the kernel, was the parent's thread. glibc's fork() has reset the stdio list lock.
  reset_heap_mutex();
  t_lock_depth = 0;
  if (t_took_stdio_lock) _IO_list_resetlock();
  tcache::after_fork_in_child(state == kLockedWhole);
}

}  // namespace

// What pthread_atfork calls. pthread_atfork itself comes from libc_nonshared.a, a stub linked
// at the end of our text: the one call to it at start-up faulted in a second 64 KiB window of
// the library's code (40 KiB more resident in every preloaded program) and one more page of a
// static link's text. __dso_handle: the handlers go away with the object if it is unloaded.
FT_CORE_TEXT void install_fork_handlers() { __register_atfork(before_fork, after_fork_in_parent, after_fork_in_child, &__dso_handle); }

}  // namespace ft
