// The one mutex that guards the shared heap (zones, class lists, the LARGE table, statistics).
#pragma once
#include <pthread.h>

#include <cstdint>

namespace ft {

extern pthread_mutex_t g_heap_mutex;

extern uint64_t g_lock_waits;         // acquisitions that found the lock taken (statistics)
extern uint64_t g_lock_acquisitions;  // every acquisition; written under the lock (statistics)

// How deep this thread is in taking, holding or releasing the heap lock: raised before the
// mutex is asked for, lowered after it is released, so that a fork() from a signal handler that
// interrupted this thread anywhere in between knows the lock may be its own and must not wait
// for it (api/fork_handlers.cpp). A byte of initial-exec TLS.
extern __thread uint8_t t_lock_depth __attribute__((tls_model("initial-exec")));

inline void heap_lock() {
  __atomic_store_n(&t_lock_depth, t_lock_depth + 1, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  if (__builtin_expect(pthread_mutex_trylock(&g_heap_mutex) != 0, 0)) {
    __atomic_fetch_add(&g_lock_waits, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&g_heap_mutex);
  }
  ++g_lock_acquisitions;
}
inline void heap_unlock() {
  pthread_mutex_unlock(&g_heap_mutex);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&t_lock_depth, t_lock_depth - 1, __ATOMIC_RELAXED);
}

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

}  // namespace ft
