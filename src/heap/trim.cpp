#include "heap/trim.h"

#include "heap/fork_rescue.h"
#include "tcache/thread_cache.h"
#include "zone/zone_pool.h"

namespace ft {

bool heap_trim() {
  if (rescue::on()) return false;  // the inherited heap may be halfway through a change
  tcache::flush_current();
  tcache::take_in_idle_notices();
  return zone_pool::trim(own_cache());
}

}  // namespace ft
