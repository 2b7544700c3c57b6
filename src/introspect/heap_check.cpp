#include "introspect/heap_check.h"

#include "base/misuse_report.h"
#include "debug/debug_modes.h"
#include "introspect/heap_visit.h"
#include "zone/registry.h"

namespace ft {
namespace {

struct CheckState {
  int problems;
  void found(const void *at, const FaultInfo &f) {
    if (!problems++) report_fault(Call::kCheck, at, f);
  }
};

void check_zone(const Zone *z, CheckState &st) {
  FaultInfo bad{Fault::kBadBitmap, kind_of_class(z->class_index), z->base(), z->chunk_size, 0};
  if (!z->magic_ok() || registry::lookup(z) != z) {
    st.found(z, FaultInfo{Fault::kCorruptZone, Kind::kTiny, z->base(), 0, 0});
    return;  // nothing else in it can be trusted
  }
  // The registry's owner and the zone's agree: one cache, or none.
  uintptr_t entry = registry::lookup_entry(z);
  if (registry::entry_owner(entry) != (z->owner ? z->owner->owner_id : 0)) st.found(z, bad);
  // A zone a thread cache owns changes under its owner's hand, without the lock: its bitmaps
  // and counts are only checked while the pool holds it.
  if (z->owner) return;
  Zone *m = const_cast<Zone *>(z);
  const ZoneLayout &l = z->layout();
  uint32_t avail = 0;
  for (uint32_t w = 0; w < l.words; ++w) {
    uint64_t a = m->avail_map()[w], live = z->live_map()[w];
    uint64_t in_zone = w * 64 + 64 <= l.chunks ? ~uint64_t{0} : (uint64_t{1} << (l.chunks - w * 64)) - 1;
    bool summary = (z->summary >> w) & 1;
    if ((a & live) || ((a | live) & ~in_zone) || summary != (a != 0)) st.found(z, bad);
    avail += static_cast<uint32_t>(__builtin_popcountll(a));
  }
  if (avail != z->avail) st.found(z, bad);
  if (!g_config.check) return;
  for (uint32_t i = 0; i < l.chunks; ++i) {
    if (!z->is_live(i)) continue;
    char *p = z->chunk(i);
    size_t size = z->size(i);
    if (!debug::canary_ok(p, size))
      st.found(p, FaultInfo{Fault::kOverflow, kind_of_class(z->class_index), reinterpret_cast<uintptr_t>(p), size, 0});
  }
}

void check_region(const RegionView &r, void *ctx) {
  auto &st = *static_cast<CheckState *>(ctx);
  if (r.zone) return check_zone(r.zone, st);
  const LargeBlock &b = *r.large;
  if (b.user < b.base || b.end > b.base + b.map_len || b.user + b.size > b.end)
    st.found(reinterpret_cast<void *>(b.user), FaultInfo{Fault::kCorruptZone, Kind::kLarge, b.base, b.size, 0});
  else if (g_config.check && !debug::canary_ok(reinterpret_cast<void *>(b.user), b.size))
    st.found(reinterpret_cast<void *>(b.user), FaultInfo{Fault::kOverflow, Kind::kLarge, b.user, b.size, 0});
}

}  // namespace

int check_heap() {
  CheckState st{0};
  visit_heap(check_region, &st);
  return st.problems;
}

}  // namespace ft
