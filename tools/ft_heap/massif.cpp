// ft_heap --massif LOG OUT: the heap of a call log as valgrind massif's output, so that ms_print
// and massif-visualizer chart any program's heap without running it under valgrind.
//
// Snapshots at regular steps and at the peak of live bytes. Time is massif's --time-unit=B (the
// bytes allocated and freed so far): most runs last less than the millisecond massif counts in,
// and massif's readers expect whole numbers. The snapshots have no allocation tree (the log
// records no call stacks: heap_tree=empty), but the peak's, which is its total alone, so that
// ms_print and massif-visualizer mark it.
#include <inttypes.h>
#include <stdio.h>

#include "tools/ft_heap/charts.h"
#include "tools/ft_heap/heap_series.h"
#include "tools/ft_heap/output_file.h"

namespace ft_heap {
namespace {

constexpr unsigned kSteps = 60;  // regular snapshots (massif keeps about 100 at most)

struct Massif {
  FILE *f;
  const SeriesSummary *summary;
  uint64_t step, next;   // churn of the next regular snapshot
  unsigned snapshots;
  bool peak_done;
  HeapState last;  // the last snapshot's state
};

void snapshot(Massif &m, const HeapState &s, bool peak) {
  m.last = s;
  fprintf(m.f, "#-----------\nsnapshot=%u\n#-----------\n", m.snapshots++);
  fprintf(m.f, "time=%" PRIu64 "\nmem_heap_B=%" PRIu64 "\nmem_heap_extra_B=%" PRIu64 "\nmem_stacks_B=0\n", s.churn,
          s.live, s.extra);
  if (!peak) {
    fputs("heap_tree=empty\n", m.f);
    return;
  }
  fprintf(m.f, "heap_tree=peak\nn0: %" PRIu64 " (heap allocation functions) malloc/new/new[], --alloc-fns, etc.\n",
          s.live);
}

void on_state(const HeapState &s, void *ctx) {
  Massif &m = *static_cast<Massif *>(ctx);
  const HeapState &peak = m.summary->peak;
  bool is_peak = !m.peak_done && s.live == peak.live && s.churn == peak.churn && s.time == peak.time;
  if (is_peak) {
    snapshot(m, s, true);
    m.peak_done = true;
  } else if (s.churn >= m.next) {
    snapshot(m, s, false);
  } else {
    return;
  }
  while (m.next <= s.churn) m.next += m.step;
}

}  // namespace

int massif_from_log(const char *log_path, const char *out_path) {
  Log log;
  if (!load_log(log_path, &log)) return kBadFile;
  SeriesSummary summary;
  walk_heap(log, [](const HeapState &, void *) {}, nullptr, &summary);
  Output out;
  if (!open_output(out_path, &out)) {
    unload_log(&log);
    return kBadFile;
  }
  fprintf(out.f, "desc: ft_heap --massif %s (ft_malloc call log; time: bytes allocated and freed)\n", log_path);
  fprintf(out.f, "cmd: %s\ntime_unit: B\n", log.header.exe[0] ? log.header.exe : "?");
  Massif m{out.f, &summary, summary.last.churn / kSteps + 1, 0, 0, false, {}};
  snapshot(m, HeapState{}, false);
  m.next = m.step;
  SeriesSummary again;  // the same as summary: this walk writes the snapshots
  walk_heap(log, on_state, &m, &again);
  // The end of the run, unless the last snapshot was it.
  if (m.last.churn != summary.last.churn || m.last.live != summary.last.live) snapshot(m, summary.last, false);
  unload_log(&log);
  return commit_output(&out) ? 0 : kBadFile;
}

}  // namespace ft_heap
