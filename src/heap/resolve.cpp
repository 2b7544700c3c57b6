#include "heap/resolve.h"
#include "base/compiler.h"

#include "debug/debug_modes.h"
#include "heap/fork_rescue.h"
#include "large/large_cache.h"
#include "os/heap_lock.h"
#include "zone/registry.h"

namespace ft {

FT_HOT_TEXT Ref resolve(const void *ptr) {
  Ref r;
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  if (Zone *z = registry::lookup(ptr)) {
    r.fault.kind = kind_of_class(z->class_index);
    r.fault.block = z->base();
    if (!z->magic_ok()) {
      r.fault.fault = Fault::kCorruptZone;
      return r;
    }
    uint32_t i;
    bool exact;
    r.fault.block_size = z->layout().chunk_size;
    if (!z->locate(p, &i, &exact)) {
      r.fault.fault = p < z->data() ? Fault::kZoneHeader : Fault::kNotOurs;
      return r;
    }
    r.fault.block = reinterpret_cast<uintptr_t>(z->chunk(i));
    if (!exact) r.fault.fault = Fault::kInterior;
    else if (!z->is_live(i)) r.fault.fault = i < z->hwm ? Fault::kDoubleFree : Fault::kNeverAllocated;
    r.zone = z;
    r.index = i;
    return r;
  }
  r.fault.kind = Kind::kLarge;
  if ((r.large = large::find(p))) return r;
  size_t freed_size;
  if (large::was_freed(p, &freed_size) || large::cache::holds_freed(p, &freed_size)) {
    r.fault = FaultInfo{Fault::kDoubleFree, Kind::kLarge, p, freed_size, 0};
  } else if (const LargeBlock *b = large::containing(p)) {
    r.fault = FaultInfo{Fault::kInterior, Kind::kLarge, b->user, b->size, 0};
  } else {
    r.fault.fault = Fault::kNotOurs;
  }
  return r;
}

FT_HOT_TEXT void check_canary(Call call, void *p, const Ref &r) {
  if (!g_config.check || debug::canary_ok(p, r.size())) return;
  report_fault(call, p, FaultInfo{Fault::kOverflow, r.kind(), reinterpret_cast<uintptr_t>(p), r.size(), 0});
}

FT_HOT_TEXT size_t heap_usable_size(void *p) {
  if (!p) return 0;
  if (rescue::on()) {
    size_t n = rescue::usable_size(p);
    return n ? n : inherited_usable(p);
  }
  HeapLock lock;
  Ref r = resolve(p);
  if (r.fault.fault == Fault::kNone) return r.usable();
  lock.unlock();
  report_fault(Call::kUsableSize, p, r.fault);
  return 0;
}

FT_HOT_TEXT size_t inherited_usable(const void *p) {
  if (Zone *z = registry::lookup(p)) {
    uint32_t i;
    bool exact;
    if (!z->magic_ok() || !z->locate(reinterpret_cast<uintptr_t>(p), &i, &exact) || !exact) return 0;
    return z->usable(i);
  }
  const LargeBlock *b = large::find(reinterpret_cast<uintptr_t>(p));
  return b ? b->usable() : 0;
}

}  // namespace ft
