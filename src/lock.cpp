#include "lock.h"

#include "thread_cache.h"

namespace ft {

constinit pthread_mutex_t g_heap_mutex = PTHREAD_MUTEX_INITIALIZER;
constinit uint64_t g_lock_waits = 0;

namespace {
void before_fork() { heap_lock(); }
void after_fork_in_parent() { heap_unlock(); }
// The child has one thread, ours: a fresh mutex is simpler and surer than unlocking one whose
// owner, for the kernel, was the parent's thread.
void after_fork_in_child() {
  pthread_mutex_init(&g_heap_mutex, nullptr);
  tcache::after_fork_in_child();
}
}  // namespace

void install_fork_handlers() { pthread_atfork(before_fork, after_fork_in_parent, after_fork_in_child); }

}  // namespace ft
