// The one mutex that guards the shared heap (zones, class lists, the LARGE table, statistics),
// and the fork handlers that keep it usable in a child.
#pragma once
#include <pthread.h>

#include <cstdint>

namespace ft {

extern pthread_mutex_t g_heap_mutex;

extern uint64_t g_lock_waits;  // acquisitions that found the lock taken (statistics)
inline void heap_lock() {
  if (__builtin_expect(pthread_mutex_trylock(&g_heap_mutex) != 0, 0)) {
    __atomic_fetch_add(&g_lock_waits, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&g_heap_mutex);
  }
}
inline void heap_unlock() { pthread_mutex_unlock(&g_heap_mutex); }

// Holds the heap lock for a scope. unlock() ends it early (to make a system call outside it).
class HeapLock {
 public:
  HeapLock() { heap_lock(); }
  ~HeapLock() {
    if (held_) heap_unlock();
  }
  void unlock() {
    heap_unlock();
    held_ = false;
  }
  void relock() {
    heap_lock();
    held_ = true;
  }
  HeapLock(const HeapLock &) = delete;
  HeapLock &operator=(const HeapLock &) = delete;

 private:
  bool held_ = true;
};

// Registers the fork handlers (once, at start-up): the parent holds the lock across fork() so the
// child never inherits it locked by a thread that does not exist there.
void install_fork_handlers();

}  // namespace ft
