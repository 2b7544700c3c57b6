#include "heap/trim.h"

#include "base/counters.h"
#include "heap/fork_rescue.h"
#include "large/large_block.h"
#include "large/large_cache.h"
#include "os/heap_lock.h"
#include "tcache/thread_cache.h"
#include "zone/zone_pool.h"

namespace ft {

bool heap_trim() {
  if (rescue::on()) return false;  // the inherited heap may be halfway through a change
  tcache::flush_current();
  tcache::take_in_idle_notices();
  large::Unmaps gone;
  bool cached;
  {
    HeapLock lock;
    cached = large::cache::empty(&gone);
  }
  gone.run();
  return zone_pool::trim(own_cache()) || cached;
}

namespace {
// The mapped bytes after the last trim_for_retry; read and written without the lock (a stale
// value costs one trim more or less).
constinit uint64_t g_mapped_after_retry_trim = ~uint64_t{0};
}  // namespace

bool trim_for_retry() {
  uint64_t mapped = __atomic_load_n(&counters::g_counters.mapped_bytes, __ATOMIC_RELAXED);
  if (mapped == __atomic_load_n(&g_mapped_after_retry_trim, __ATOMIC_RELAXED)) return false;
  bool released = heap_trim();
  __atomic_store_n(&g_mapped_after_retry_trim, __atomic_load_n(&counters::g_counters.mapped_bytes, __ATOMIC_RELAXED),
                   __ATOMIC_RELAXED);
  return released;
}

// The LARGE layer's refused mappings take the same second try (large/large_block.h).
bool (*const large::g_after_refusal)() = trim_for_retry;

}  // namespace ft
