// FT_MALLOC_JSON / ft::write_json(): the heap as data, for scripts. The schema is in README.md
// ("JSON snapshot schema"): every zone and LARGE mapping in address order with its live blocks,
// the per-class statistics and the totals.
//
// Runs inside the allocator (at exit, from a destructor): no stdio, no allocation, all output
// through LineWriter; the statistics snapshot is taken before visit_heap() takes the heap lock.
#include <unistd.h>

#include "show_alloc_mem/dump.h"
#include "introspect/heap_visit.h"
#include "base/line_writer.h"
#include "base/settings.h"
#include "debug/leaks.h"
#include "introspect/statistics.h"

namespace ft {
namespace {

struct Json {
  LineWriter *out;
  bool first_zone;
};

LineWriter &key(LineWriter &out, const char *k) { return out.ch('"').str(k).str("\":"); }
LineWriter &num(LineWriter &out, const char *k, uint64_t v) { return key(out, k).dec(v); }
LineWriter &addr(LineWriter &out, const char *k, uintptr_t v) { return key(out, k).ch('"').hex(v, false).ch('"'); }

void block(LineWriter &out, bool first, uintptr_t address, uint64_t size) {
  if (!first) out.ch(',');
  out.ch('{');
  addr(out, "address", address).ch(',');
  num(out, "size", size).ch('}');
}

void zone_json(const RegionView &r, void *ctx) {
  auto *j = static_cast<Json *>(ctx);
  LineWriter &out = *j->out;
  out.str(j->first_zone ? "\n  " : ",\n  ");
  j->first_zone = false;
  out.ch('{');
  key(out, "kind").ch('"').str(kind_name(r.kind)).str("\",");
  addr(out, "address", r.base).ch(',');
  num(out, "size", r.mapped).ch(',');
  if (r.large) {
    num(out, "class", 0).ch(',');
    num(out, "chunks", 1).ch(',');
    num(out, "used", 1).ch(',');
    num(out, "cached", 0).ch(',');
    num(out, "free", 0).ch(',');
    key(out, "blocks").ch('[');
    block(out, true, r.large->user, r.large->size);
    out.str("]}");
    return;
  }
  const Zone *z = r.zone;
  uint32_t used = 0, cached = 0, free = 0;
  for (uint32_t i = 0; i < z->chunks; ++i) {
    if (z->is_live(i)) ++used;
    else if (const_cast<Zone *>(z)->is_avail(i)) ++free;
    else ++cached;
  }
  num(out, "class", z->chunk_size).ch(',');
  num(out, "chunks", z->chunks).ch(',');
  num(out, "used", used).ch(',');
  num(out, "cached", cached).ch(',');
  num(out, "free", free).ch(',');
  key(out, "blocks").ch('[');
  bool first = true;
  for (uint32_t i = 0; i < z->chunks; ++i) {
    if (!z->is_live(i)) continue;
    block(out, first, reinterpret_cast<uintptr_t>(z->chunk(i)), z->size(i));
    first = false;
  }
  out.str("]}");
}

void class_fields(LineWriter &out, const stats::ClassSnapshot &c) {
  num(out, "allocs", c.allocs).ch(',');
  num(out, "frees", c.frees).ch(',');
  num(out, "live_blocks", c.live_blocks).ch(',');
  num(out, "live_bytes", c.live_bytes).ch(',');
  num(out, "peak_live_bytes", c.peak_live_bytes).ch(',');
  num(out, "zones", c.zones).ch(',');
  num(out, "zones_mapped", c.zones_mapped).ch(',');
  num(out, "zones_returned", c.zones_returned).ch(',');
  num(out, "bytes_mapped", c.bytes_mapped).ch(',');
  num(out, "waste", c.waste).ch(',');
  num(out, "free_bytes", c.free_bytes).ch(',');
  num(out, "cached_chunks", c.cached_chunks);
}

// Text inside a JSON string: quotes, backslashes and control characters escaped. A LineWriter
// whose buffer goes through here (frames::write names frames into one).
void escape_into(const char *bytes, size_t n, void *ctx) {
  LineWriter &out = *static_cast<LineWriter *>(ctx);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c == '"' || c == '\\') out.ch('\\').ch(static_cast<char>(c));
    else if (c < 0x20) out.str("\\u00").byte(c);
    else out.ch(static_cast<char>(c));
  }
}

struct Sites {
  LineWriter *out;
  bool first;
};

// A call site with live blocks (with FT_MALLOC_LEAKS or a heap profile): its bytes, blocks and
// frames named as the leak report names them.
void site_json(const leaks::Site &site, void *ctx) {
  auto *s = static_cast<Sites *>(ctx);
  LineWriter &out = *s->out;
  out.str(s->first ? "\n  {" : ",\n  {");
  s->first = false;
  num(out, "bytes", site.bytes).ch(',');
  num(out, "blocks", site.blocks).ch(',');
  key(out, "frames").ch('[');
  for (unsigned f = 0; f < site.depth; ++f) {
    out.str(f ? ",\"" : "\"");
    {
      LineWriter name(escape_into, &out);
      leaks::write_site(name, leaks::Site{site.frames + f, 1, 0, 0});
    }
    out.ch('"');
  }
  out.str("]}");
}

}  // namespace

void write_json(int fd) {
  stats::Snapshot s;  // before visit_heap: take_snapshot takes the heap lock too
  stats::take_snapshot(&s);
  LineWriter out(fd);
  out.ch('{');
  num(out, "version", 1).ch(',');
  num(out, "pid", static_cast<uint64_t>(getpid())).ch(',');
  key(out, "zones").ch('[');
  Json j{&out, true};
  visit_heap(zone_json, &j);
  out.str(j.first_zone ? "],\n" : "\n],\n");

  key(out, "classes").ch('[');
  for (unsigned k = 0; k < stats::kSlots; ++k) {
    bool large = k == stats::kLargeSlot;
    out.str(k ? ",\n  {" : "\n  {");
    key(out, "kind").ch('"').str(large ? "LARGE" : kind_name(kind_of_class(k))).str("\",");
    num(out, "class", large ? 0 : class_size(k)).ch(',');
    class_fields(out, s.cls[k]);
    out.ch('}');
  }
  out.str("\n],\n");

  key(out, "totals").ch('{');
  class_fields(out, s.total);
  out.ch(',');
  num(out, "maps", s.maps).ch(',');
  num(out, "unmaps", s.unmaps).ch(',');
  num(out, "lock_waits", s.contended).ch(',');
  num(out, "reserve_bytes", s.reserve_bytes).ch(',');
  num(out, "free_chunks", s.free_chunks).str("},\n");
  const large::cache::Stats &lc = s.large_cache;
  key(out, "large_cache").ch('{');
  num(out, "mappings", lc.mappings).ch(',');
  num(out, "bytes", lc.bytes).ch(',');
  num(out, "hits", lc.hits).ch(',');
  num(out, "resized", lc.resized).ch(',');
  num(out, "gathered", lc.gathered).ch(',');
  num(out, "misses", lc.misses).ch(',');
  num(out, "returned", lc.returned);
  out.ch('}');
  if (g_config.stacks) {
    out.str(",\n");
    key(out, "sites").ch('[');
    Sites sites{&out, true};
    leaks::for_each_site(site_json, &sites);
    out.str(sites.first ? "]" : "\n]");
  }
  out.str("}\n");
}

}  // namespace ft
