#include "base/counters.h"
#include "base/compiler.h"

namespace ft::counters {

constinit Counters g_counters = {};
constinit RemoteShard g_uncached_remote_frees[kRemoteShards] = {};

uint64_t uncached_remote_frees() {
  uint64_t n = 0;
  for (const RemoteShard &s : g_uncached_remote_frees) n += __atomic_load_n(&s.frees, __ATOMIC_RELAXED);
  return n;
}

FT_CORE_TEXT void raise_to(uint64_t &peak, uint64_t v) {
  uint64_t cur = __atomic_load_n(&peak, __ATOMIC_RELAXED);
  while (v > cur && !__atomic_compare_exchange_n(&peak, &cur, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

FT_CORE_TEXT void note_chunks_out(unsigned c, int64_t n) {
  uint64_t out = __atomic_add_fetch(&g_counters.out_chunks[c], static_cast<uint64_t>(n), __ATOMIC_RELAXED);
  raise_to(g_counters.peak_out_chunks[c], out);
  int64_t bytes = n * static_cast<int64_t>(class_size(c));
  int64_t chunks = __atomic_add_fetch(&g_counters.live_bytes, bytes, __ATOMIC_RELAXED);
  if (bytes > 0) note_live(chunks + __atomic_load_n(&g_counters.large_live_bytes, __ATOMIC_RELAXED));
}

}  // namespace ft::counters
