#include "base/counters.h"
#include "base/compiler.h"

namespace ft::counters {

constinit Counters g_counters = {};

FT_CORE_TEXT void raise_to(uint64_t &peak, uint64_t v) {
  uint64_t cur = __atomic_load_n(&peak, __ATOMIC_RELAXED);
  while (v > cur && !__atomic_compare_exchange_n(&peak, &cur, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

FT_CORE_TEXT void note_chunks_out(unsigned c, int64_t n) {
  uint64_t out = __atomic_add_fetch(&g_counters.out_chunks[c], static_cast<uint64_t>(n), __ATOMIC_RELAXED);
  raise_to(g_counters.peak_out_chunks[c], out);
  note_large(n * static_cast<int64_t>(class_size(c)));
}

}  // namespace ft::counters
