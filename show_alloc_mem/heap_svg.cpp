// FT_MALLOC_SVG / ft::write_svg(): the heap as a picture. One band per zone or LARGE mapping in
// address order, each as wide as the picture (the label gives its size); inside a zone, one cell
// per chunk, as wide as the chunk, coloured by state: in use (live bit), free (avail bit), held by
// a thread cache (neither). The zone's header and bitmaps are a grey cell at its start. Runs of
// chunks in the same state are one cell; where a zone still has more runs than its share of the
// cell budget, groups of neighbouring chunks become one cell each, hatched in the colour of their
// majority, so a 200 MB heap still makes a file of a few MB. Every cell has a <title> (tooltip):
// its address, size and what it holds.
//
// Runs inside the allocator (at exit, from a destructor): no stdio, no allocation, all output
// through LineWriter; the statistics snapshot is taken before visit_heap() takes the heap lock.
#include <unistd.h>

#include "show_alloc_mem/dump.h"
#include "introspect/heap_visit.h"
#include "base/line_writer.h"
#include "introspect/statistics.h"

namespace ft {
namespace {

constexpr unsigned kLabelX = 4;
constexpr unsigned kBandX = 400;      // bands start here, after the labels
constexpr unsigned kBandW = 1000;     // every band is this wide
constexpr unsigned kWidth = kBandX + kBandW + 10;
constexpr unsigned kTop = 100;        // first band
constexpr unsigned kBandH = 14;
constexpr unsigned kPitch = 18;
// Cells in the whole picture (about 90 bytes each), shared by the bands, within these bounds: a
// heap of 4000 zones (250 MB of 32 B blocks, every other one freed) makes a 3 MB file.
constexpr unsigned kCellBudget = 24000;
constexpr unsigned kMaxCellsPerBand = 512;
constexpr unsigned kMinCellsPerBand = 6;

enum State : unsigned { kUsed, kFree, kCached };
constexpr const char *kStateClass[] = {"u", "f", "c"};
constexpr const char *kStateName[] = {"in use", "free", "in a thread cache"};

struct Svg {
  LineWriter *out;
  unsigned cap;          // cells per band
  unsigned max_rows;     // bands the height was computed for
  unsigned rows;         // bands drawn
  uint64_t skipped;      // regions past max_rows (the heap grew since the snapshot)
  uint64_t live_bytes, blocks, zones[3], mapped, cached, free_chunks;
};

// v / 100 with two decimals.
void fixed2(LineWriter &out, uint64_t v) {
  out.dec(v / 100).ch('.');
  out.ch(static_cast<char>('0' + v / 10 % 10)).ch(static_cast<char>('0' + v % 10));
}

// The x of byte `off` of a region of `len` bytes, in hundredths of a pixel.
uint64_t x_of(uint64_t off, uint64_t len) {
  return uint64_t{kBandX} * 100 + static_cast<uint64_t>(static_cast<unsigned __int128>(off) * (kBandW * 100) / len);
}

// "64 KiB", "12.6 MiB": for labels.
void human(LineWriter &out, uint64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  unsigned u = 0;
  uint64_t scaled = bytes * 10;
  while (scaled >= 10240 && u < 4) scaled /= 1024, ++u;
  out.dec(scaled / 10);
  if (u && scaled % 10) out.ch('.').dec(scaled % 10);
  out.ch(' ').str(units[u]);
}

// Opens a cell: a horizontal stroke as thick as the band (shorter than a <rect>: the files stay
// small), then its <title>; the caller writes the title text, then close_cell().
void open_cell(Svg &s, uint64_t x0, uint64_t x1, const char *cls, bool hatched) {
  LineWriter &out = *s.out;
  out.str("<path d=\"M");
  fixed2(out, x0);
  out.ch(' ').dec(kBandH / 2).ch('h');
  fixed2(out, x1 > x0 ? x1 - x0 : 0);
  out.str("\" ");
  if (hatched) out.str("stroke=\"url(#h").str(cls).str(")\"");
  else out.str("class=\"").str(cls).ch('"');
  out.str("><title>");
}
void close_cell(Svg &s) { s.out->str("</title></path>\n"); }

// A group of neighbouring chunks drawn as one cell.
struct Cell {
  uint32_t first, end;       // chunks [first, end)
  uint32_t count[3];         // chunks in each state
  uint64_t asked;            // bytes asked for by the live blocks among them
  bool pure() const { return count[kUsed] == end - first || count[kFree] == end - first || count[kCached] == end - first; }
  State majority() const {
    State m = kUsed;
    if (count[kFree] > count[m]) m = kFree;
    if (count[kCached] > count[m]) m = kCached;
    return m;
  }
};

void draw_cell(Svg &s, const Zone *z, const Cell &c) {
  LineWriter &out = *s.out;
  uint64_t len = z->layout().zone_size;
  uint64_t off0 = z->data_offset + uint64_t{c.first} * z->chunk_size;
  uint64_t off1 = z->data_offset + uint64_t{c.end} * z->chunk_size;
  bool mixed = !c.pure();
  State st = c.majority();
  open_cell(s, x_of(off0, len), x_of(off1, len), kStateClass[st], mixed);
  uint32_t n = c.end - c.first;
  out.hex(z->base() + off0).ch(' ').dec(off1 - off0).str(" B: ");
  if (n == 1) {
    out.str(kStateName[st]);
    if (st == kUsed) out.str(", ").dec(c.asked).str(" B asked");
  } else {
    out.dec(n).str(" chunks");
    if (!mixed) {
      out.ch(' ').str(kStateName[st]);
    } else {
      const char *sep = ": ";
      for (unsigned st2 = kUsed; st2 <= kCached; ++st2) {
        if (!c.count[st2]) continue;
        out.str(sep).dec(c.count[st2]).ch(' ').str(st2 == kCached ? "cached" : kStateName[st2]);
        sep = ", ";
      }
    }
    if (c.count[kUsed]) out.str(", ").dec(c.asked).str(" B asked");
  }
  close_cell(s);
}

State state_of(const Zone *z, uint32_t i) {
  if (z->is_live(i)) return kUsed;
  return const_cast<Zone *>(z)->is_avail(i) ? kFree : kCached;
}

// A band is a group moved to its row: its cells need no y.
void label(Svg &s) {
  s.out->str("<g transform=\"translate(0,").dec(kTop + s.rows * kPitch).str(")\"><text x=\"").dec(kLabelX);
  s.out->str("\" y=\"").dec(kBandH - 3).str("\">");
}

void draw_zone(Svg &s, const Zone *z) {
  LineWriter &out = *s.out;
  const ZoneLayout &l = z->layout();
  uint32_t n = l.chunks;
  uint32_t runs = 0, count[3] = {0, 0, 0};
  uint64_t asked = 0;
  for (uint32_t i = 0; i < n; ++i) {
    State st = state_of(z, i);
    ++count[st];
    if (!i || st != state_of(z, i - 1)) ++runs;
    if (st == kUsed) asked += z->size(i);
  }
  s.live_bytes += asked;
  s.blocks += count[kUsed];
  s.cached += count[kCached];
  s.free_chunks += count[kFree];

  label(s);
  out.str(kind_name(kind_of_class(z->class_index))).ch(' ').dec(l.chunk_size).str(" B  ").hex(z->base()).str("  ");
  human(out, l.zone_size);
  out.str("  ").dec(count[kUsed]).ch('/').dec(n).str(" used");
  if (count[kCached]) out.str(", ").dec(count[kCached]).str(" cached");
  out.str("</text>\n");

  // The header and bitmaps, then the chunks, then the slack after the last chunk.
  uint64_t len = l.zone_size;
  open_cell(s, x_of(0, len), x_of(l.data_offset, len), "h", false);
  out.hex(z->base()).ch(' ').dec(l.data_offset).str(" B: zone header, bitmaps, size codes");
  close_cell(s);

  // Chunks per cell: 1 (runs merge) when the runs fit the band's share, else groups of k.
  unsigned cap = s.cap > 2 ? s.cap - 2 : 1;
  uint32_t k = runs <= cap ? 1 : (n + cap - 1) / cap;
  Cell pending{};
  bool have = false;
  for (uint32_t first = 0; first < n; first += k) {
    Cell c{first, first + k < n ? first + k : n, {0, 0, 0}, 0};
    for (uint32_t i = c.first; i < c.end; ++i) {
      State st = state_of(z, i);
      ++c.count[st];
      if (st == kUsed) c.asked += z->size(i);
    }
    // Pure groups of one state join the pending cell when it is pure in that state too.
    if (have && c.pure() && pending.pure() && c.majority() == pending.majority()) {
      pending.end = c.end;
      for (int j = 0; j < 3; ++j) pending.count[j] += c.count[j];
      pending.asked += c.asked;
      continue;
    }
    if (have) draw_cell(s, z, pending);
    pending = c;
    have = true;
  }
  if (have) draw_cell(s, z, pending);

  // The slack after the last chunk, when it shows (at least a pixel).
  uint64_t used_end = l.data_offset + uint64_t{n} * l.chunk_size;
  if (x_of(len, len) - x_of(used_end, len) >= 100) {
    open_cell(s, x_of(used_end, len), x_of(len, len), "s", false);
    out.hex(z->base() + used_end).ch(' ').dec(len - used_end).str(" B: after the last chunk");
    close_cell(s);
  }
  out.str("</g>\n");
}

void draw_large(Svg &s, const RegionView &r) {
  LineWriter &out = *s.out;
  const LargeBlock &b = *r.large;
  s.live_bytes += b.size;
  s.blocks++;
  label(s);
  out.str("LARGE  ").hex(r.base).str("  ");
  human(out, r.mapped);
  out.str("  1 block</text>\n");
  uint64_t len = r.mapped ? r.mapped : 1;
  uint64_t start = b.user - r.base, end = start + b.size;
  if (start) {
    open_cell(s, x_of(0, len), x_of(start, len), "s", false);
    out.hex(r.base).ch(' ').dec(start).str(" B: alignment padding");
    close_cell(s);
  }
  open_cell(s, x_of(start, len), x_of(end, len), "u", false);
  out.hex(b.user).ch(' ').dec(b.size).str(" B: LARGE block in use, mapping ").dec(r.mapped).str(" B");
  close_cell(s);
  if (end < r.mapped) {
    open_cell(s, x_of(end, len), x_of(r.mapped, len), "s", false);
    out.hex(b.user + b.size).ch(' ').dec(r.mapped - end).str(" B: rest of the mapping");
    close_cell(s);
  }
  out.str("</g>\n");
}

void draw_region(const RegionView &r, void *ctx) {
  auto *s = static_cast<Svg *>(ctx);
  s->zones[static_cast<int>(r.kind)]++;
  s->mapped += r.mapped;
  if (s->rows >= s->max_rows) {
    // Not drawn (no room left in the picture), but counted in the summary.
    s->skipped++;
    if (r.large) {
      s->live_bytes += r.large->size, s->blocks++;
      return;
    }
    for (uint32_t i = 0; i < r.zone->chunks; ++i) {
      State st = state_of(r.zone, i);
      if (st == kUsed) s->live_bytes += r.zone->size(i), s->blocks++;
      else if (st == kCached) s->cached++;
      else s->free_chunks++;
    }
    return;
  }
  if (r.large) draw_large(*s, r);
  else draw_zone(*s, r.zone);
  s->rows++;
}

void legend_item(LineWriter &out, unsigned x, const char *cls, bool hatched, const char *text) {
  out.str("<rect x=\"").dec(x).str("\" y=\"62\" width=\"14\" height=\"").dec(kBandH).str("\" ");
  if (hatched) out.str("fill=\"url(#h").str(cls).str(")\"");
  else out.str("class=\"").str(cls).ch('"');
  out.str("/><text x=\"").dec(x + 18).str("\" y=\"73\">").str(text).str("</text>\n");
}

void pattern(LineWriter &out, const char *cls, const char *colour) {
  out.str("<pattern id=\"h").str(cls).str("\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\">");
  out.str("<rect width=\"4\" height=\"4\" fill=\"").str(colour).str("\"/>");
  // A <line>, not a <path>: the style's path rule (the cells' thickness) must not reach it.
  out.str("<line x1=\"0\" y1=\"4\" x2=\"4\" y2=\"0\" stroke=\"#333\" stroke-width=\"0.8\"/></pattern>\n");
}

}  // namespace

void write_svg(int fd) {
  stats::Snapshot snap;  // before visit_heap: take_snapshot takes the heap lock too
  stats::take_snapshot(&snap);
  uint64_t regions = snap.total.zones;
  unsigned cap = regions ? static_cast<unsigned>(kCellBudget / regions) : kMaxCellsPerBand;
  if (cap > kMaxCellsPerBand) cap = kMaxCellsPerBand;
  if (cap < kMinCellsPerBand) cap = kMinCellsPerBand;
  unsigned rows = static_cast<unsigned>(regions);
  unsigned height = kTop + rows * kPitch + 10;

  LineWriter out(fd);
  out.str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  out.str("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").dec(kWidth).str("\" height=\"").dec(height);
  out.str("\" viewBox=\"0 0 ").dec(kWidth).ch(' ').dec(height).str("\" font-family=\"monospace\" font-size=\"11\">\n");
  out.str("<style>.u{fill:#d9534f;stroke:#d9534f}.f{fill:#b9e0b0;stroke:#b9e0b0}.c{fill:#f0ad4e;stroke:#f0ad4e}"
          ".h{fill:#8c8c8c;stroke:#8c8c8c}.s{fill:#e8e8e8;stroke:#e8e8e8}path{stroke-width:")
      .dec(kBandH)
      .str("px;shape-rendering:crispEdges}</style>\n");
  out.str("<defs>\n");
  pattern(out, "u", "#d9534f");
  pattern(out, "f", "#b9e0b0");
  pattern(out, "c", "#f0ad4e");
  out.str("</defs>\n");
  out.str("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n");

  Svg s{&out, cap, rows, 0, 0, 0, 0, {0, 0, 0}, 0, 0, 0};
  visit_heap(draw_region, &s);

  // Written after the bands (their totals are those of the picture), drawn above them.
  out.str("<text x=\"").dec(kLabelX).str("\" y=\"20\" font-size=\"15\" font-weight=\"bold\">ft_malloc heap, pid ");
  out.dec(static_cast<uint64_t>(getpid())).str("</text>\n");
  out.str("<text x=\"").dec(kLabelX).str("\" y=\"42\">live ").dec(s.live_bytes).str(" B in ").dec(s.blocks);
  out.str(" blocks; zones: ").dec(s.zones[0]).str(" TINY, ").dec(s.zones[1]).str(" SMALL, ").dec(s.zones[2]);
  out.str(" LARGE; ").dec(s.mapped).str(" B mapped; ").dec(s.cached).str(" chunks in thread caches; peak ");
  out.dec(snap.peak_live_bytes).str(" B");
  if (s.skipped) out.str("; ").dec(s.skipped).str(" regions made since not drawn");
  out.str("</text>\n");
  legend_item(out, kLabelX, "u", false, "in use");
  legend_item(out, kLabelX + 90, "f", false, "free");
  legend_item(out, kLabelX + 160, "c", false, "thread cache");
  legend_item(out, kLabelX + 290, "u", true, "mixed (majority colour)");
  legend_item(out, kLabelX + 490, "h", false, "zone header");
  legend_item(out, kLabelX + 610, "s", false, "unused mapping");
  out.str("<text x=\"").dec(kLabelX + 760).str("\" y=\"73\">one band per zone, full width = the zone's size</text>\n");
  out.str("</svg>\n");
}

}  // namespace ft
