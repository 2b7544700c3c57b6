#include "introspect/statistics.h"

#include <unistd.h>

#include <cstring>

#include "base/line_writer.h"
#include "heap/fork_rescue.h"
#include "large/large_table.h"
#include "os/heap_lock.h"
#include "tcache/thread_cache.h"
#include "zone/zone_pool.h"

namespace ft::stats {

void take_snapshot(Snapshot *s) {
  memset(s, 0, sizeof *s);
  if (rescue::on()) return;  // the inherited heap may be halfway through a change
  tcache::give_up_orphans_if_any();  // a fork child's zones of the parent's other threads: counted again
  HeapLock lock;
  for (unsigned k = 0; k < kSlots; ++k) {
    ClassSnapshot &c = s->cls[k];
    c.allocs = counters::g_counters.allocs[k];
    if (k == kLargeSlot)
      for (uint64_t n : counters::g_counters.large_allocs) c.allocs += n;
    if (k < kClassCount) {
      c.peak_live_bytes = counters::g_counters.peak_out_chunks[k] * class_size(k);
      c.zones_mapped = counters::g_counters.zones_mapped[k];
      c.zones_returned = counters::g_counters.zones_returned[k];
    }
  }
  // The caches fold their counts in a batch at a time: what they hold back counts too, so that
  // a peak is never below what is live now.
  int64_t unfolded_bytes = 0;
  int64_t unfolded_chunks[kCachedClasses] = {};
  for (ThreadCache *tc = g_all_caches; tc; tc = tc->next_all) {
    for (uint64_t used = __atomic_load_n(&tc->used_classes, __ATOMIC_ACQUIRE); used;) {
      unsigned k = next_class(used);
      const ClassCache *cc = __atomic_load_n(&tc->class_of[k], __ATOMIC_ACQUIRE);  // placed before its bit
      s->cls[k].allocs += __atomic_load_n(&cc->allocs, __ATOMIC_RELAXED);
      s->cls[k].cached_chunks += __atomic_load_n(&cc->count, __ATOMIC_RELAXED);
      int64_t d = __atomic_load_n(&cc->out_delta, __ATOMIC_RELAXED);
      unfolded_chunks[k] += d;
      unfolded_bytes += d * static_cast<int64_t>(class_size(k));
    }
    s->remote_frees += __atomic_load_n(&tc->remote_frees, __ATOMIC_RELAXED);
  }
  s->remote_frees += __atomic_load_n(&counters::g_counters.remote_frees, __ATOMIC_RELAXED) +
                     counters::uncached_remote_frees();
  for (Zone *z = zone_pool::all_zones(); z; z = z->next_all) {
    ClassSnapshot &c = s->cls[z->class_index];
    c.zones++;
    c.bytes_mapped += z->layout().zone_size;
    if (z->empty() && !z->owner) s->reserve_bytes += z->layout().zone_size;
    s->free_chunks += __atomic_load_n(&z->avail, __ATOMIC_RELAXED);
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
  struct LargeSums {
    ClassSnapshot *large;
    Snapshot *s;
  } sums{&large, s};
  large::for_each(
      [](const LargeBlock &b, void *ctx) {
        auto *sum = static_cast<LargeSums *>(ctx);
        ClassSnapshot *l = sum->large;
        l->live_blocks++;
        l->live_bytes += b.size;
        l->zones++;
        l->bytes_mapped += b.map_len;
        l->waste += b.map_len - b.size;
        sum->s->size_live_blocks[counters::size_bucket(b.size)]++;
        sum->s->size_live_bytes[counters::size_bucket(b.size)] += b.size;
      },
      &sums);
  for (unsigned k = 0; k < counters::kSizeBuckets; ++k)
    s->size_allocs[k] = __atomic_load_n(&counters::g_counters.large_allocs[k], __ATOMIC_RELAXED);
  for (unsigned k = 0; k < kClassCount; ++k) {
    unsigned b = counters::size_bucket(class_size(k));
    s->size_allocs[b] += s->cls[k].allocs;
    s->size_live_blocks[b] += s->cls[k].live_blocks;
    s->size_live_bytes[b] += s->cls[k].live_bytes;
  }
  for (unsigned k = 0; k < kSlots; ++k) {
    ClassSnapshot &c = s->cls[k];
    c.frees = c.allocs > c.live_blocks ? c.allocs - c.live_blocks : 0;  // every block not live was freed
    ClassSnapshot &t = s->total;
    t.allocs += c.allocs, t.frees += c.frees, t.live_blocks += c.live_blocks, t.live_bytes += c.live_bytes;
    t.zones += c.zones, t.zones_mapped += c.zones_mapped, t.zones_returned += c.zones_returned;
    t.bytes_mapped += c.bytes_mapped, t.waste += c.waste, t.free_bytes += c.free_bytes;
    t.cached_chunks += c.cached_chunks;
  }
  counters::Counters &g = counters::g_counters;
  for (unsigned k = 0; k < kCachedClasses; ++k) {
    counters::raise_to(g.peak_out_chunks[k], __atomic_load_n(&g.out_chunks[k], __ATOMIC_RELAXED) + unfolded_chunks[k]);
    s->cls[k].peak_live_bytes = __atomic_load_n(&g.peak_out_chunks[k], __ATOMIC_RELAXED) * class_size(k);
  }
  counters::raise_to(g.peak_live_bytes,
                     static_cast<uint64_t>(counters::live_bytes() + unfolded_bytes));
  s->total.peak_live_bytes = s->peak_live_bytes = __atomic_load_n(&g.peak_live_bytes, __ATOMIC_RELAXED);
  s->peak_mapped_bytes = counters::g_counters.peak_mapped_bytes;
  s->maps = counters::g_counters.maps;
  s->unmaps = counters::g_counters.unmaps;
  s->contended = __atomic_load_n(&g_lock_waits, __ATOMIC_RELAXED);
  s->lock_acquisitions = g_lock_acquisitions;
  s->large_cache = large::cache::stats();
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

// The sizes in powers of two, beside the table: allocations over the run, and what is live, with
// a bar for the allocations.
void size_histogram(LineWriter &out, const Snapshot &s) {
  uint64_t most = 0;
  for (unsigned b = 0; b < counters::kSizeBuckets; ++b)
    if (s.size_allocs[b] > most) most = s.size_allocs[b];
  if (!most) return;
  out.str("allocation sizes (powers of two; TINY and SMALL blocks by their class):\n");
  out.str("               size     allocs       live  live bytes\n");
  for (unsigned b = 0; b < counters::kSizeBuckets; ++b) {
    if (!s.size_allocs[b] && !s.size_live_blocks[b]) continue;
    uint64_t hi = uint64_t{1} << b, lo = b == 4 ? 0 : hi / 2 + 1;
    char label[48];
    int n = 0;
    auto put = [&](uint64_t v) {
      char t[24];
      int k = 0;
      do t[k++] = static_cast<char>('0' + v % 10); while (v /= 10);
      while (k) label[n++] = t[--k];
    };
    put(lo);
    label[n++] = '-';
    put(hi);
    for (int i = n; i < 19; ++i) out.ch(' ');
    for (int i = 0; i < n; ++i) out.ch(label[i]);
    pad(out, s.size_allocs[b], 11), pad(out, s.size_live_blocks[b], 11), pad(out, s.size_live_bytes[b], 12);
    if (s.size_allocs[b]) out.str("  ");
    for (uint64_t bar = (s.size_allocs[b] * 30 + most - 1) / most; bar; --bar) out.ch('#');
    out.ch('\n');
  }
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
  out.str("mmap calls ").dec(s.maps).str(", munmap calls ").dec(s.unmaps);
  out.str(", lock acquisitions ").dec(s.lock_acquisitions).str(", lock waits ").dec(s.contended);
  out.str(", remote frees ").dec(s.remote_frees);
  out.str(", peak live ").dec(s.peak_live_bytes).str(" B (chunks and mappings), reserve zones ");
  out.dec(s.reserve_bytes).str(" B\n");
  const large::cache::Stats &lc = s.large_cache;
  out.str("large cache: ").dec(lc.mappings).str(" mappings, ").dec(lc.bytes).str(" B; hits ").dec(lc.hits);
  out.str(", resized ").dec(lc.resized).str(", gathered ").dec(lc.gathered).str(", misses ").dec(lc.misses).str(", returned ").dec(lc.returned).ch('\n');
  size_histogram(out, s);
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

namespace {

// An element with attributes: <name a="1" b="2"/>.
struct Xml {
  LineWriter &out;
  Xml &open(const char *name) {
    out.ch('<').str(name);
    return *this;
  }
  Xml &attr(const char *name, uint64_t v) {
    out.ch(' ').str(name).str("=\"").dec(v).ch('"');
    return *this;
  }
  Xml &attr(const char *name, const char *v) {
    out.ch(' ').str(name).str("=\"").str(v).ch('"');
    return *this;
  }
  void close() { out.str("/>\n"); }
};

}  // namespace

void write_malloc_info(LineWriter &out, const Snapshot &s) {
  Xml x{out};
  const ClassSnapshot &large = s.cls[kLargeSlot];
  uint64_t zone_bytes = s.total.bytes_mapped - large.bytes_mapped;
  uint64_t free_bytes = s.total.free_bytes - large.free_bytes;
  out.str("<malloc version=\"1\" allocator=\"ft_malloc\">\n");
  // glibc's own elements first, with their meaning, so that readers of glibc's output find them.
  out.str("<heap nr=\"0\">\n<sizes>\n");
  for (unsigned k = 0; k < kClassCount; ++k) {
    uint64_t free_chunks = s.cls[k].free_bytes / class_size(k);
    if (free_chunks)
      x.open("size").attr("from", k ? class_size(k - 1) + 1 : 0).attr("to", class_size(k))
          .attr("total", s.cls[k].free_bytes).attr("count", free_chunks).close();
  }
  out.str("</sizes>\n");
  x.open("total").attr("type", "fast").attr("count", uint64_t{0}).attr("size", uint64_t{0}).close();
  x.open("total").attr("type", "rest").attr("count", s.free_chunks).attr("size", free_bytes).close();
  x.open("system").attr("type", "current").attr("size", zone_bytes).close();
  x.open("system").attr("type", "max").attr("size", s.peak_mapped_bytes).close();
  x.open("aspace").attr("type", "total").attr("size", zone_bytes).close();
  x.open("aspace").attr("type", "mprotect").attr("size", zone_bytes).close();
  out.str("</heap>\n");
  // ft_malloc's own: every class in use, LARGE blocks, what the thread caches and the reserve hold.
  out.str("<classes>\n");
  for (unsigned k = 0; k < kClassCount; ++k) {
    const ClassSnapshot &c = s.cls[k];
    if (!c.allocs && !c.zones) continue;
    x.open("class").attr("kind", kind_name(kind_of_class(k))).attr("size", class_size(k)).attr("zones", c.zones)
        .attr("mapped", c.bytes_mapped).attr("blocks", c.live_blocks).attr("bytes", c.live_bytes)
        .attr("waste", c.waste).attr("free", c.free_bytes).attr("cached", c.cached_chunks)
        .attr("allocs", c.allocs).attr("frees", c.frees).close();
  }
  out.str("</classes>\n");
  x.open("large").attr("blocks", large.live_blocks).attr("bytes", large.live_bytes)
      .attr("mapped", large.bytes_mapped).attr("allocs", large.allocs).attr("frees", large.frees).close();
  uint64_t cached_bytes = 0;
  for (unsigned k = 0; k < kClassCount; ++k) cached_bytes += s.cls[k].cached_chunks * class_size(k);
  x.open("cache").attr("chunks", s.total.cached_chunks).attr("bytes", cached_bytes).close();
  x.open("reserve").attr("bytes", s.reserve_bytes).close();
  const large::cache::Stats &lc = s.large_cache;
  x.open("large_cache").attr("mappings", lc.mappings).attr("bytes", lc.bytes).attr("hits", lc.hits)
      .attr("resized", lc.resized).attr("gathered", lc.gathered).attr("misses", lc.misses).attr("returned", lc.returned).close();
  x.open("total").attr("type", "fast").attr("count", uint64_t{0}).attr("size", uint64_t{0}).close();
  x.open("total").attr("type", "rest").attr("count", s.free_chunks).attr("size", free_bytes).close();
  x.open("total").attr("type", "mmap").attr("count", large.zones).attr("size", large.bytes_mapped).close();
  x.open("system").attr("type", "current").attr("size", s.total.bytes_mapped).close();
  x.open("system").attr("type", "max").attr("size", s.peak_mapped_bytes).close();
  x.open("aspace").attr("type", "total").attr("size", s.total.bytes_mapped).close();
  x.open("aspace").attr("type", "mprotect").attr("size", s.total.bytes_mapped).close();
  x.open("live").attr("blocks", s.total.live_blocks).attr("bytes", s.total.live_bytes).close();
  x.open("locks").attr("acquisitions", s.lock_acquisitions).attr("waits", s.contended).close();
  x.open("remote").attr("frees", s.remote_frees).close();
  out.str("</malloc>\n");
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
