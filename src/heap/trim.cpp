#include "heap/trim.h"

#include "heap/fork_rescue.h"
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

}  // namespace ft
