#include "tcache/thread_cache.h"

#include <pthread.h>

#include "base/counters.h"
#include "base/settings.h"
#include "os/heap_lock.h"
#include "os/mapping.h"
#include "zone/zone_pool.h"

namespace ft {

__thread ThreadCache *t_cache __attribute__((tls_model("initial-exec"))) = nullptr;
constinit ThreadCache *g_all_caches = nullptr;

namespace tcache {
namespace {

// Every cached chunk back to its zone (statistics folded in on the way), every home given up.
void give_up_all(ThreadCache *tc) {
  for (unsigned c = 0; c < kCachedClasses; ++c) {
    flush_class(tc, c);
    zone_pool::release_home(&tc->classes[c].home);
  }
}

enum : uint8_t { kUnattached, kAttaching, kActive, kOff };
__thread uint8_t t_state __attribute__((tls_model("initial-exec"))) = kUnattached;

// Guarded by the heap lock.
constinit ThreadCache *g_idle = nullptr;
constinit bool g_key_made = false;
constinit pthread_key_t g_key;

// pthread key destructor: the thread is exiting. Its chunks go back to their zones and the cache
// to the idle list; a later free() or malloc() on this thread (another key's destructor) takes
// the lock instead.
void thread_exit(void *arg) {
  auto *tc = static_cast<ThreadCache *>(arg);
  t_cache = nullptr;
  t_state = kOff;
  give_up_all(tc);
  HeapLock lock;
  tc->next_idle = g_idle;
  g_idle = tc;
}

}  // namespace

ThreadCache *attach() {
  if (t_state != kUnattached) return nullptr;
  if (!g_config.tcache) {
    t_state = kOff;
    return nullptr;
  }
  t_state = kAttaching;  // pthread_setspecific below may call malloc: it takes the lock path
  ThreadCache *tc;
  {
    HeapLock lock;
    if (!g_key_made) g_key_made = pthread_key_create(&g_key, thread_exit) == 0;
    tc = g_idle;
    if (tc) g_idle = tc->next_idle;
  }
  if (!tc) {
    tc = static_cast<ThreadCache *>(os::map(os::round_to_pages(sizeof(ThreadCache))));
    if (!tc) {
      t_state = kUnattached;  // try again on a later call
      return nullptr;
    }
    for (unsigned c = 0; c < kCachedClasses; ++c) {
      tc->classes[c].capacity = cache_capacity(c);
      tc->classes[c].out_cap = out_capacity(c);
    }
    HeapLock lock;
    tc->next_all = g_all_caches;
    g_all_caches = tc;
  }
  if (!g_key_made || pthread_setspecific(g_key, tc) != 0) {
    HeapLock lock;
    tc->next_idle = g_idle;
    g_idle = tc;
    t_state = kOff;
    return nullptr;
  }
  t_cache = tc;
  t_state = kActive;
  return tc;
}

uintptr_t refill(ThreadCache *tc, unsigned c) {
  ClassCache &cc = tc->classes[c];
  // Half the capacity: the next frees have room, the next mallocs have chunks.
  fold_counts(tc, c);
  flush_out(tc, c);  // the lock is taken anyway; their zones may empty
  unsigned got = zone_pool::take_batch(c, cc.slot, cc.capacity / 2, &cc.home);
  if (!got) return 0;
  cc.count = got - 1;
  return cc.slot[got - 1];
}

void flush_class(ThreadCache *tc, unsigned c) {
  fold_counts(tc, c);
  ClassCache &cc = tc->classes[c];
  if (cc.count) zone_pool::give_batch(cc.slot, cc.count);
  cc.count = 0;
  flush_out(tc, c);
}

void after_fork_in_child() {
  for (ThreadCache *tc = g_all_caches; tc; tc = tc->next_all)
    if (tc != t_cache)  // an idle cache has no home: its thread gave them up at exit
      for (unsigned c = 0; c < kCachedClasses; ++c) zone_pool::release_home(&tc->classes[c].home);
}

void fold_counts(ThreadCache *tc, unsigned c) {
  uint64_t a = tc->pending_allocs[c];
  tc->pending_allocs[c] = 0;
  if (a) counters::note_allocs(c, a);
}

void turn_off_in_this_thread() {
  t_cache = nullptr;
  t_state = kOff;
}

void flush_out(ThreadCache *tc, unsigned c) {
  ClassCache &cc = tc->classes[c];
  if (cc.out_count) zone_pool::give_batch(cc.out, cc.out_count);
  cc.out_count = 0;
}

void flush_current() {
  if (ThreadCache *tc = t_cache) give_up_all(tc);
}

void flush_half(ThreadCache *tc, unsigned c) {
  fold_counts(tc, c);
  ClassCache &cc = tc->classes[c];
  unsigned half = cc.count / 2;
  zone_pool::give_batch(cc.slot, half);
  for (unsigned k = half; k < cc.count; ++k) cc.slot[k - half] = cc.slot[k];
  cc.count -= half;
}

}  // namespace tcache
}  // namespace ft
