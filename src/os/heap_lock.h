// The one mutex that guards the shared heap (zones, class lists, the LARGE table, statistics),
// taken whenever the process has a second thread.
#pragma once
#include <pthread.h>

#include <cstdint>

// glibc's "this process has one thread" (<sys/single_threaded.h>), weak: see heap_mutex_needed.
extern "C" char __libc_single_threaded __attribute__((weak));

namespace ft {

// Adaptive (glibc's PTHREAD_MUTEX_ADAPTIVE_NP): a thread that finds it taken spins a little before
// it sleeps in the kernel, as it is held for a few hundred instructions and a futex wait and wake
// cost microseconds. Four threads in malloc/free pairs of 1 MiB (each pair takes it twice) on 2
// cores: 14.95 -> 10.87 ms (medians of 21 interleaved runs; glibc 2.30); larson, server and
// prodcons, which take it rarely, the same (9 interleaved runs).
extern pthread_mutex_t g_heap_mutex;
// A fork child's fresh one (api/fork_handlers.cpp).
inline void reset_heap_mutex() {
  pthread_mutex_t fresh = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
  g_heap_mutex = fresh;
}

extern uint64_t g_lock_waits;         // acquisitions that found the lock taken (statistics)
extern uint64_t g_lock_acquisitions;  // every acquisition; written under the lock (statistics)

// How deep this thread is in taking, holding or releasing the heap lock: raised before the
// mutex is asked for, lowered after it is released, so that a fork() from a signal handler that
// interrupted this thread anywhere in between knows the lock may be its own and must not wait
// for it (api/fork_handlers.cpp). A byte of initial-exec TLS.
extern __thread uint8_t t_lock_depth __attribute__((tls_model("initial-exec")));

// Whether another thread may run: glibc's own flag (2.32 and later; weak, so that an older libc
// or a static link without it reads "maybe": the mutex is always taken then). A process that
// never made a thread skips the mutex, as glibc's malloc does (SINGLE_THREAD_P): nothing can
// contend for the heap, and the pair of atomic operations was a quarter of a LARGE malloc/free.
// Read at every acquisition: the flag turns false before a first thread starts, and the caller
// of pthread_create() holds no heap lock then.
inline bool heap_mutex_needed() { return !&__libc_single_threaded || !__libc_single_threaded; }

// make lockhold (FT_MEASURE_LOCK_HOLD): callgrind counts only while the lock is held, so that
// `make bench-ir` can say how many instructions each acquisition holds it for (valgrind's client
// requests; a few instructions of no effect outside valgrind). Never in the library users link.
#ifdef FT_MEASURE_LOCK_HOLD
#include <valgrind/callgrind.h>
#define FT_LOCK_HOLD_TOGGLE() CALLGRIND_TOGGLE_COLLECT
#else
#define FT_LOCK_HOLD_TOGGLE() ((void)0)
#endif

// Returns whether the mutex was taken (the matching heap_unlock needs it).
inline bool heap_lock() {
  __atomic_store_n(&t_lock_depth, t_lock_depth + 1, __ATOMIC_RELAXED);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  bool mutex = heap_mutex_needed();
  if (mutex && __builtin_expect(pthread_mutex_trylock(&g_heap_mutex) != 0, 0)) {
    __atomic_fetch_add(&g_lock_waits, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&g_heap_mutex);
  }
  ++g_lock_acquisitions;
  FT_LOCK_HOLD_TOGGLE();
  return mutex;
}
inline void heap_unlock(bool mutex) {
  FT_LOCK_HOLD_TOGGLE();
  if (mutex) pthread_mutex_unlock(&g_heap_mutex);
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  __atomic_store_n(&t_lock_depth, t_lock_depth - 1, __ATOMIC_RELAXED);
}

// Holds the heap lock for a scope. unlock() ends it early (to make a system call outside it).
class HeapLock {
 public:
  HeapLock() { mutex_ = heap_lock(); }
  ~HeapLock() {
    if (held_) heap_unlock(mutex_);
  }
  void unlock() {
    heap_unlock(mutex_);
    held_ = false;
  }
  void relock() {
    mutex_ = heap_lock();
    held_ = true;
  }
  HeapLock(const HeapLock &) = delete;
  HeapLock &operator=(const HeapLock &) = delete;

 private:
  bool held_ = true;
  bool mutex_;
};

}  // namespace ft
