// ft_heap --timeline LOG OUT.svg: the heap of a call log over time as a picture. Bytes in zones
// and in LARGE mappings as stacked areas (what the process has mapped for its heap), the bytes the
// program asked for as a line over them, the peak of those marked; time in the log's own clock.
// The log's events are gathered into one column per few pixels, each drawn at its highest values,
// so that a peak between two columns is never lost.
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tools/ft_heap/charts.h"
#include "tools/ft_heap/heap_series.h"
#include "tools/ft_heap/off_heap.h"
#include "tools/ft_heap/output_file.h"
#include "tools/ft_heap/units.h"

namespace ft_heap {
namespace {

constexpr int kWidth = 1000, kHeight = 460;
constexpr int kLeft = 90, kRight = 970, kTop = 60, kBottom = 380;
constexpr unsigned kColumns = (kRight - kLeft) / 2;

struct Column {
  uint64_t live, zones, total;  // highest in the column
  bool seen;
};

struct Gather {
  Column *cols;
  uint64_t end_time;
  uint64_t top;  // the highest value drawn
};

unsigned column_of(uint64_t time, uint64_t end) {
  unsigned c = static_cast<unsigned>(static_cast<unsigned __int128>(time) * kColumns / (end ? end : 1));
  return c < kColumns ? c : kColumns - 1;
}

void gather(const HeapState &s, void *ctx) {
  Gather &g = *static_cast<Gather *>(ctx);
  Column &c = g.cols[column_of(s.time, g.end_time)];
  uint64_t total = s.zones + s.large;
  if (!c.seen || s.live > c.live) c.live = s.live;
  if (!c.seen || s.zones > c.zones) c.zones = s.zones;
  if (!c.seen || total > c.total) c.total = total;
  c.seen = true;
  if (s.live > g.top) g.top = s.live;
  if (total > g.top) g.top = total;
}

// The step of the y axis, at least v / 4: 1, 2 or 5 times a power of ten of the unit the labels
// use (B, KiB, MiB, ...), so that they read 2 MiB, 4 MiB, not 1.9 MiB, 3.8 MiB.
uint64_t nice_step(uint64_t v) {
  uint64_t unit = 1;
  while (unit < (uint64_t{1} << 40) && v / unit >= 1024) unit *= 1024;
  uint64_t step = 1;
  for (;;) {
    static const uint64_t kMantissas[] = {1, 2, 5};
    for (uint64_t m : kMantissas)
      if (step * m * unit * 4 >= v) return step * m * unit;
    step *= 10;
  }
}

double x_at(uint64_t time, uint64_t end) { return kLeft + (kRight - kLeft) * (static_cast<double>(time) / (end ? end : 1)); }
double y_at(uint64_t v, uint64_t top) { return kBottom - (kBottom - kTop) * (static_cast<double>(v) / (top ? top : 1)); }

// One series as a polygon down to the axis (area) or a polyline (line).
void series(FILE *f, const Gather &g, uint64_t top, uint64_t Column::*field, const char *attrs, bool area) {
  fprintf(f, "<%s %s points=\"", area ? "polygon" : "polyline", attrs);
  if (area) fprintf(f, "%d,%d ", kLeft, kBottom);
  uint64_t last = 0;
  for (unsigned c = 0; c < kColumns; ++c) {
    uint64_t v = g.cols[c].seen ? g.cols[c].*field : last;
    last = v;
    double x0 = kLeft + (kRight - kLeft) * (static_cast<double>(c) / kColumns);
    double x1 = kLeft + (kRight - kLeft) * (static_cast<double>(c + 1) / kColumns);
    fprintf(f, "%.1f,%.1f %.1f,%.1f ", x0, y_at(v, top), x1, y_at(v, top));
  }
  if (area) fprintf(f, "%d,%d", kRight, kBottom);
  fputs("\"/>\n", f);
}

}  // namespace

void write_timeline_svg(FILE *f, const Log &log, const char *title) {
  SeriesSummary summary;
  walk_heap(log, [](const HeapState &, void *) {}, nullptr, &summary);
  Gather g{map_array<Column>(kColumns), summary.last.time, 0};
  SeriesSummary again;
  walk_heap(log, gather, &g, &again);
  uint64_t step = nice_step(g.top ? g.top : 1);
  uint64_t top = (g.top + step - 1) / step * step;
  if (!top) top = step;
  char a[32], b[32], c[32], d[32];
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n", kWidth, kHeight, kWidth, kHeight);
  fputs("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">", f);
  write_escaped(f, title);
  fputs("</text>\n", f);
  fprintf(f, "<text x=\"10\" y=\"42\">%zu calls; peak %s live in %" PRIu64 " blocks at %s; at the end %s live, %s mapped</text>\n",
          log.count, human_bytes(a, sizeof a, summary.peak.live), summary.peak.blocks,
          human_time(b, sizeof b, summary.peak.time), human_bytes(c, sizeof c, summary.last.live),
          human_bytes(d, sizeof d, summary.last.zones + summary.last.large));
  // Areas: LARGE mappings stacked on zones; the live line above them.
  series(f, g, top, &Column::total, "class=\"large\" fill=\"#9ecae1\" stroke=\"none\"", true);
  series(f, g, top, &Column::zones, "class=\"zones\" fill=\"#c7e9c0\" stroke=\"none\"", true);
  series(f, g, top, &Column::live, "class=\"live\" fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\"", false);
  // Axes, ticks and labels.
  fprintf(f, "<g stroke=\"#333\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/></g>\n",
          kLeft, kBottom, kRight, kBottom, kLeft, kTop, kLeft, kBottom);
  for (uint64_t v = 0; v <= top; v += step) {
    double y = y_at(v, top);
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>", kLeft, y, kRight, y);
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", kLeft - 6, y + 4, human_bytes(a, sizeof a, v));
  }
  for (unsigned k = 0; k <= 5; ++k) {
    uint64_t t = summary.last.time * k / 5;
    double x = x_at(t, summary.last.time);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>", x, kBottom, x, kBottom + 5);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x, kBottom + 18, human_time(a, sizeof a, t));
  }
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time since the program's first call</text>\n",
          (kLeft + kRight) / 2, kBottom + 36);
  fprintf(f, "<text transform=\"translate(16,%d) rotate(-90)\" text-anchor=\"middle\">bytes</text>\n", (kTop + kBottom) / 2);
  // The peak of live bytes.
  double px = x_at(summary.peak.time, summary.last.time), py = y_at(summary.peak.live, top);
  fprintf(f, "<circle class=\"peak\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#d62728\"><title>peak: %" PRIu64
             " B live in %" PRIu64 " blocks at %" PRIu64 " ns</title></circle>\n",
          px, py, summary.peak.live, summary.peak.blocks, summary.peak.time);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">peak %s</text>\n", px + (px > kRight - 120 ? -8 : 8),
          py - 6 < kTop ? kTop + 12.0 : py - 6, px > kRight - 120 ? "end" : "start", human_bytes(a, sizeof a, summary.peak.live));
  // Legend.
  const struct {
    const char *colour, *text;
  } legend[] = {{"#d62728", "live bytes (asked for)"}, {"#c7e9c0", "bytes in zones"}, {"#9ecae1", "bytes in LARGE mappings"}};
  for (unsigned k = 0; k < 3; ++k) {
    int x = kLeft + 10 + static_cast<int>(k) * 220;
    fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>\n", x,
            kHeight - 22, legend[k].colour, x + 20, kHeight - 13, legend[k].text);
  }
  fputs("</svg>\n", f);
  unmap(g.cols);
}

int timeline_from_log(const char *log_path, const char *out_path) {
  Log log;
  if (!load_log(log_path, &log)) return kBadFile;
  Output out;
  if (!open_output(out_path, &out)) {
    unload_log(&log);
    return kBadFile;
  }
  char title[600];
  snprintf(title, sizeof title, "heap of %s over time (call log %s)", log.header.exe[0] ? log.header.exe : "?", log_path);
  fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out.f);
  write_timeline_svg(out.f, log, title);
  unload_log(&log);
  return commit_output(&out) ? 0 : kBadFile;
}

}  // namespace ft_heap
