#include "stats.h"

#include <cstring>
#include <unistd.h>

#include "large.h"
#include "line_writer.h"
#include "lock.h"
#include "thread_cache.h"
#include "zone_heap.h"

namespace ft::stats {

constinit Counters g_counters = {};

namespace {

void raise_to(uint64_t &peak, uint64_t v) {
  uint64_t cur = __atomic_load_n(&peak, __ATOMIC_RELAXED);
  while (v > cur && !__atomic_compare_exchange_n(&peak, &cur, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
}

}  // namespace

void note_chunks_out(unsigned c, int64_t n) {
  uint64_t out = g_counters.out_chunks[c] += static_cast<uint64_t>(n);
  if (out > g_counters.peak_out_chunks[c]) g_counters.peak_out_chunks[c] = out;
  note_large(n * static_cast<int64_t>(class_size(c)));
}

void note_large(int64_t bytes) {
  g_counters.live_bytes += bytes;
  if (g_counters.live_bytes > 0) raise_to(g_counters.peak_live_bytes, static_cast<uint64_t>(g_counters.live_bytes));
}

void fold(ThreadCache *tc, unsigned c) {
  uint64_t a = tc->pending_allocs[c];
  tc->pending_allocs[c] = 0;
  if (a) note_allocs(c, a);
}

void take_snapshot(Snapshot *s) {
  memset(s, 0, sizeof *s);
  HeapLock lock;
  for (unsigned k = 0; k < kSlots; ++k) {
    ClassSnapshot &c = s->cls[k];
    c.allocs = g_counters.allocs[k];
    if (k < kClassCount) {
      c.peak_live_bytes = g_counters.peak_out_chunks[k] * class_size(k);
      c.zones_mapped = g_counters.zones_mapped[k];
      c.zones_returned = g_counters.zones_returned[k];
    }
  }
  for (ThreadCache *tc = g_all_caches; tc; tc = tc->next_all) {
    for (unsigned k = 0; k < kCachedClasses; ++k) {
      s->cls[k].allocs += __atomic_load_n(&tc->pending_allocs[k], __ATOMIC_RELAXED);
      s->cls[k].cached_chunks += __atomic_load_n(&tc->classes[k].count, __ATOMIC_RELAXED) +
                                 __atomic_load_n(&tc->classes[k].out_count, __ATOMIC_RELAXED);
    }
  }
  for (Zone *z = zone_heap::all_zones(); z; z = z->next_all) {
    ClassSnapshot &c = s->cls[z->class_index];
    c.zones++;
    c.bytes_mapped += z->layout().zone_size;
    if (z->empty()) s->reserve_bytes += z->layout().zone_size;
    s->free_chunks += z->avail;
    for (uint32_t i = 0; i < z->chunks; ++i) {
      if (!z->is_live(i)) continue;
      size_t size = z->size(i);
      c.live_blocks++;
      c.live_bytes += size;
      c.waste += z->chunk_size - size;
    }
    c.free_bytes += uint64_t{z->chunks - 0} * z->chunk_size;  // corrected below by live chunks
  }
  for (unsigned k = 0; k < kClassCount; ++k)
    s->cls[k].free_bytes -= s->cls[k].live_blocks * class_size(k);
  ClassSnapshot &large = s->cls[kLargeSlot];
  large::for_each(
      [](const LargeBlock &b, void *ctx) {
        auto *l = static_cast<ClassSnapshot *>(ctx);
        l->live_blocks++;
        l->live_bytes += b.size;
        l->zones++;
        l->bytes_mapped += b.map_len;
        l->waste += b.map_len - b.size;
      },
      &large);
  for (unsigned k = 0; k < kSlots; ++k) {
    ClassSnapshot &c = s->cls[k];
    c.frees = c.allocs > c.live_blocks ? c.allocs - c.live_blocks : 0;  // every block not live was freed
    ClassSnapshot &t = s->total;
    t.allocs += c.allocs, t.frees += c.frees, t.live_blocks += c.live_blocks, t.live_bytes += c.live_bytes;
    t.zones += c.zones, t.zones_mapped += c.zones_mapped, t.zones_returned += c.zones_returned;
    t.bytes_mapped += c.bytes_mapped, t.waste += c.waste, t.free_bytes += c.free_bytes;
    t.cached_chunks += c.cached_chunks;
  }
  s->total.peak_live_bytes = g_counters.peak_live_bytes;
  s->peak_live_bytes = g_counters.peak_live_bytes;
  s->maps = g_counters.maps;
  s->unmaps = g_counters.unmaps;
  s->contended = __atomic_load_n(&g_lock_waits, __ATOMIC_RELAXED);
}

namespace {

void pad(LineWriter &out, uint64_t v, int width) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  for (int i = n; i < width; ++i) out.ch(' ');
  while (n) out.ch(tmp[--n]);
}

void row(LineWriter &out, const char *kind, uint64_t size, const ClassSnapshot &c) {
  out.str(kind);
  for (size_t i = strlen(kind); i < 6; ++i) out.ch(' ');
  if (size) pad(out, size, 7); else out.str("      -");
  pad(out, c.allocs, 11), pad(out, c.frees, 11), pad(out, c.live_blocks, 9), pad(out, c.live_bytes, 12);
  pad(out, c.peak_live_bytes, 12), pad(out, c.zones, 6), pad(out, c.zones_mapped, 7), pad(out, c.zones_returned, 9);
  pad(out, c.bytes_mapped, 12), pad(out, c.waste, 10), pad(out, c.free_bytes, 11), pad(out, c.cached_chunks, 7);
  out.ch('\n');
}

}  // namespace

void print_report(int fd) {
  Snapshot s;
  take_snapshot(&s);
  LineWriter out(fd);
  out.str("ft_malloc statistics (pid ").dec(static_cast<uint64_t>(getpid())).str(")\n");
  out.str("kind     size     allocs      frees     live  live bytes  peak bytes zones mapped returned"
          "      mapped     waste  free bytes cached\n");
  for (unsigned k = 0; k < kClassCount; ++k)
    if (s.cls[k].allocs || s.cls[k].zones) row(out, kind_name(kind_of_class(k)), class_size(k), s.cls[k]);
  if (s.cls[kLargeSlot].allocs) row(out, "LARGE", 0, s.cls[kLargeSlot]);
  row(out, "total", 0, s.total);
  out.str("mmap calls ").dec(s.maps).str(", munmap calls ").dec(s.unmaps).str(", lock waits ").dec(s.contended);
  out.str(", peak live ").dec(s.peak_live_bytes).str(" B (chunks and mappings), reserve zones ");
  out.dec(s.reserve_bytes).str(" B\n");
}

Mallinfo2 mallinfo2() {
  Snapshot s;
  take_snapshot(&s);
  const ClassSnapshot &large = s.cls[kLargeSlot];
  uint64_t zone_used = 0;
  for (unsigned k = 0; k < kClassCount; ++k) zone_used += s.cls[k].live_blocks * class_size(k);
  Mallinfo2 m{};
  m.arena = s.total.bytes_mapped - large.bytes_mapped;  // bytes in zones
  m.ordblks = s.free_chunks;                            // free chunks in zones
  m.hblks = large.zones;                                // LARGE mappings
  m.hblkhd = large.bytes_mapped;
  m.usmblks = s.peak_live_bytes;
  m.uordblks = zone_used;                               // chunk bytes in use
  m.fordblks = m.arena > zone_used ? m.arena - zone_used : 0;
  m.keepcost = s.reserve_bytes;                         // what malloc_trim(0) would return at least
  return m;
}

void print_malloc_stats() {
  Snapshot s;
  take_snapshot(&s);
  uint64_t zone_bytes = s.total.bytes_mapped - s.cls[kLargeSlot].bytes_mapped;
  uint64_t zone_used = 0;
  for (unsigned k = 0; k < kClassCount; ++k) zone_used += s.cls[k].live_blocks * class_size(k);
  LineWriter out(STDERR_FILENO);
  auto line = [&](const char *label, uint64_t v) { out.str(label), pad(out, v, 10), out.ch('\n'); };
  out.str("Arena 0:\n");
  line("system bytes     = ", zone_bytes);
  line("in use bytes     = ", zone_used);
  out.str("Total (incl. mmap):\n");
  line("system bytes     = ", s.total.bytes_mapped);
  line("in use bytes     = ", zone_used + s.cls[kLargeSlot].bytes_mapped);
  line("max mmap regions = ", s.cls[kLargeSlot].zones);
  line("max mmap bytes   = ", s.cls[kLargeSlot].bytes_mapped);
}

}  // namespace ft::stats
