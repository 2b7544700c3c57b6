#include "heap/trim.h"

#include "heap/fork_rescue.h"
#include "tcache/thread_cache.h"
#include "zone/zone_pool.h"

namespace ft {

bool heap_trim() {
  if (rescue::on()) return false;  // the inherited heap may be halfway through a change
  tcache::flush_current();
  return zone_pool::trim();
}

}  // namespace ft
