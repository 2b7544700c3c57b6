#include "base/counters.h"

namespace ft::counters {

constinit Counters g_counters = {};

void note_large(int64_t bytes) {
  g_counters.live_bytes += bytes;
  if (g_counters.live_bytes <= 0) return;
  uint64_t v = static_cast<uint64_t>(g_counters.live_bytes);
  uint64_t cur = __atomic_load_n(&g_counters.peak_live_bytes, __ATOMIC_RELAXED);
  while (v > cur && !__atomic_compare_exchange_n(&g_counters.peak_live_bytes, &cur, v, true, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED)) {
  }
}

}  // namespace ft::counters
