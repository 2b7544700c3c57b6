#include "tools/ft_heap/heap_series.h"

#include "base/size_class.h"
#include "tools/ft_heap/call_links.h"
#include "tools/ft_heap/off_heap.h"

namespace ft_heap {
namespace {

using ft::call_log::Op;

constexpr uint64_t kPage = 4096;

// The bytes a block of n takes: its class's chunk, or whole pages for a LARGE block (the
// allocator's own rule, base/size_class.h). Blocks of memalign and of the debug modes may take a
// larger class; the log does not say, so these are counted as plain blocks.
uint64_t footprint(uint64_t n) {
  if (n <= ft::kSmallMax) return ft::class_size(ft::class_of(n));
  return (n + kPage - 1) / kPage * kPage;
}

// The bytes a call made live (0 for a call that failed or frees).
uint64_t made(const Call &c) {
  if (!c.result) return 0;
  switch (static_cast<Op>(c.op)) {
    case Op::kMalloc:
      return c.a;
    case Op::kCalloc:
      return c.a * c.b;
    case Op::kRealloc:
    case Op::kMemalign:
      return c.b;
    default:
      return 0;
  }
}

}  // namespace

void walk_heap(const Log &log, void (*fn)(const HeapState &state, void *ctx), void *ctx, SeriesSummary *summary) {
  uint64_t *dep = map_array<uint64_t>(log.count + 1);
  *summary = SeriesSummary{};
  summary->unknown = link_calls(log, dep);
  HeapState s{};
  size_t m = 0;
  for (size_t i = 0; i <= log.count; ++i) {
    // The mappings' changes up to this call's time first (and all of them after the last call).
    while (m < log.mapped_count && (i == log.count || log.mapped[m].time <= log.calls[i].time)) {
      s.time = log.mapped[m].time;
      s.zones = log.mapped[m].zones;
      s.large = log.mapped[m].large;
      ++m;
      fn(s, ctx);
      summary->events++;
    }
    if (i == log.count) break;
    const Call &c = log.calls[i];
    if (c.time > s.time) s.time = c.time;
    if (dep[i] != kNoCall) {
      uint64_t gone = made(log.calls[dep[i]]);
      s.live -= gone;
      s.extra -= footprint(gone) - gone;
      s.churn += gone;
      s.blocks--;
    }
    if (uint64_t n = made(c); n || c.result) {
      s.live += n;
      s.extra += footprint(n) - n;
      s.churn += n;
      s.blocks++;
    }
    if (s.live > summary->peak.live) summary->peak = s;
    fn(s, ctx);
    summary->events++;
  }
  summary->last = s;
  unmap(dep);
}

}  // namespace ft_heap
