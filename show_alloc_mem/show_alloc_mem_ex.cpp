// show_alloc_mem_ex(): the detailed dump. Every zone (empty reserve zones too) with its class,
// size and occupancy; each block with the first bytes of its contents; runs of free chunks
// folded into one line. The format is in README.md ("show_alloc_mem_ex").
#include "show_alloc_mem/dump.h"
#include <unistd.h>

#include "introspect/heap_visit.h"
#include "base/line_writer.h"
#include "os/mapping.h"
#include "zone/zone_pool.h"

namespace {

// Bytes shown of each block: one line of a classic hex dump.
constexpr size_t kDumpBytes = 16;

struct DumpEx {
  ft::LineWriter *out;
  size_t total;
  size_t blocks;
  size_t zones[3];
  size_t mapped;
};

void block_line(ft::LineWriter &out, uintptr_t start, size_t size) {
  out.hex(start).str(" - ").hex(start + size).str(" : ").dec(size).str(" bytes");
  size_t n = size < kDumpBytes ? size : kDumpBytes;
  if (n) {
    const auto *b = reinterpret_cast<const uint8_t *>(start);
    out.str(" ");
    for (size_t i = 0; i < n; ++i) out.ch(' ').byte(b[i]);
    out.str("  |");
    for (size_t i = 0; i < n; ++i) out.ch(b[i] >= 0x20 && b[i] < 0x7F ? static_cast<char>(b[i]) : '.');
    out.ch('|');
  }
  out.ch('\n');
}

void free_run_line(ft::LineWriter &out, const ft::Zone *z, uint32_t first, uint32_t end) {
  out.hex(reinterpret_cast<uintptr_t>(z->chunk(first))).str(" - ");
  out.hex(reinterpret_cast<uintptr_t>(z->chunk(end))).str(" : free, ").dec(end - first).str(" chunks\n");
}

void dump_region(const ft::RegionView &r, void *ctx) {
  auto *d = static_cast<DumpEx *>(ctx);
  ft::LineWriter &out = *d->out;
  d->zones[static_cast<int>(r.kind)]++;
  d->mapped += r.mapped;
  if (r.large) {
    out.str("LARGE : ").hex(r.base).str(" mapping ").dec(r.mapped).str(" B\n");
    block_line(out, r.large->user, r.large->size);
    d->total += r.large->size;
    d->blocks++;
    return;
  }
  const ft::Zone *z = r.zone;
  const ft::ZoneLayout &l = z->layout();
  uint32_t used = ft::live_chunks(z);
  out.str(ft::kind_name(r.kind)).str(" : ").hex(r.base).str(" zone ").dec(l.zone_size);
  out.str(" B, class ").dec(l.chunk_size).str(" B, ").dec(l.chunks).str(" chunks: ");
  out.dec(used).str(" used, ").dec(l.chunks - used).str(" free\n");
  uint32_t run = 0;  // first chunk of the current free run
  for (uint32_t i = 0; i < l.chunks; ++i) {
    if (!z->is_live(i)) continue;
    if (run < i) free_run_line(out, z, run, i);
    run = i + 1;
    size_t size = z->size(i);
    block_line(out, reinterpret_cast<uintptr_t>(z->chunk(i)), size);
    d->total += size;
    d->blocks++;
  }
  if (run < l.chunks) free_run_line(out, z, run, l.chunks);
}

}  // namespace

namespace ft {

void dump_heap_ex(int fd) {
  ft::LineWriter out(fd);
  DumpEx d{&out, 0, 0, {0, 0, 0}, 0};
  ft::visit_heap(dump_region, &d);
  out.str("Total : ").dec(d.total).str(" bytes in ").dec(d.blocks).str(" blocks; zones: ");
  out.dec(d.zones[0]).str(" TINY, ").dec(d.zones[1]).str(" SMALL, ").dec(d.zones[2]).str(" LARGE; ");
  out.dec(d.mapped).str(" bytes mapped\n");
}

}  // namespace ft
