// show_alloc_mem(): the heap as 42's ft_malloc prints it. Every zone holding a block, in address
// order, then its blocks in address order with the size the program asked for:
//   TINY : 0xA0000
//   0xA0020 - 0xA004A : 42 bytes
//   Total : 42 bytes
#include "show_alloc_mem/dump.h"
#include <unistd.h>

#include "introspect/heap_visit.h"
#include "base/line_writer.h"

namespace {

struct Dump {
  ft::LineWriter *out;
  size_t total;
};

void block_line(ft::LineWriter &out, uintptr_t start, size_t size) {
  out.hex(start).str(" - ").hex(start + size).str(" : ").dec(size).str(" bytes\n");
}

void dump_region(const ft::RegionView &r, void *ctx) {
  auto *d = static_cast<Dump *>(ctx);
  ft::LineWriter &out = *d->out;
  if (r.large) {
    out.str("LARGE : ").hex(r.base).ch('\n');
    block_line(out, r.large->user, r.large->size);
    d->total += r.large->size;
    return;
  }
  const ft::Zone *z = r.zone;
  if (!ft::live_chunks(z)) return;
  out.str(ft::kind_name(r.kind)).str(" : ").hex(r.base).ch('\n');
  for (uint32_t i = 0; i < z->layout().chunks; ++i) {
    if (!z->is_live(i)) continue;
    size_t size = z->size(i);
    block_line(out, reinterpret_cast<uintptr_t>(z->chunk(i)), size);
    d->total += size;
  }
}

}  // namespace

namespace ft {

void dump_heap(int fd) {
  ft::LineWriter out(fd);
  Dump d{&out, 0};
  ft::visit_heap(dump_region, &d);
  out.str("Total : ").dec(d.total).str(" bytes\n");
}

}  // namespace ft
