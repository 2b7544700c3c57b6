// The heap over the time of a call log: after each call (and each change of the bytes mapped),
// the bytes live, what the size classes round them up by, the bytes mapped in zones and in LARGE
// mappings. What --massif and --timeline chart, and the --html page's timeline.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "tools/ft_heap/call_log_reader.h"

namespace ft_heap {

struct HeapState {
  uint64_t time;    // ns since the log's start
  uint64_t churn;   // bytes allocated and freed so far (massif's --time-unit=B)
  uint64_t live;    // bytes the program asked for, of the blocks live now
  uint64_t extra;   // what the chunks and mappings add to them (rounding up to the class, the page)
  uint64_t blocks;  // live blocks
  uint64_t zones;   // bytes mapped in zones
  uint64_t large;   // bytes in LARGE mappings (also freed ones kept for reuse)
};

// What a walk saw: where the peak of live bytes was, and the last state.
struct SeriesSummary {
  HeapState peak, last;
  size_t events;
  uint64_t unknown;  // frees and reallocs of blocks from before the log (not counted)
};

// Calls fn with the state after every call of the log and every change of the mappings, in
// time order; fills *summary. The log must be loaded (load_log).
void walk_heap(const Log &log, void (*fn)(const HeapState &state, void *ctx), void *ctx, SeriesSummary *summary);

}  // namespace ft_heap
