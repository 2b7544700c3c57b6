#include "zone/registry.h"
#include "base/compiler.h"

#include "os/mapping.h"
#include "zone/zone.h"

namespace ft::registry {
static_assert(size_t{1} << kGranuleBits == kZoneGranule);
static_assert(kOwnerIdMask < kZoneGranule, "an owner id fits in a zone address's low bits");
static_assert(kClassCount < size_t{1} << (64 - kClassShift), "a class plus one fits in an entry's top bits");

FT_BIG_TABLE constinit Leaf *g_root[size_t{1} << kRootBits] = {};


FT_CORE_TEXT bool insert(Zone *zone, size_t len, unsigned cls) {
  uintptr_t start = reinterpret_cast<uintptr_t>(zone);
  uintptr_t entry = start | uintptr_t{cls + 1} << kClassShift;
  if ((start + len) >> kAddressBits) return false;
  for (uintptr_t a = start; a < start + len; a += kZoneGranule) {
    size_t r = a >> kLeafShift;
    // A compare-and-swap rather than a load: a locked instruction is a write, and the root's
    // page, never touched before the first zone, faults once (written) instead of twice (mapped
    // as the shared zero page by the load, then copied by the store).
    Leaf *none = nullptr;
    if (__atomic_compare_exchange_n(&g_root[r], &none, nullptr, false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
      void *leaf = os::map(sizeof(Leaf));
      if (!leaf) {
        erase(zone, a - start);
        return false;
      }
      __atomic_store_n(&g_root[r], static_cast<Leaf *>(leaf), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&g_root[r]->slot[slot_of(a)], entry, __ATOMIC_RELEASE);
  }
  return true;
}

FT_CORE_TEXT void erase(Zone *zone, size_t len) {
  uintptr_t start = reinterpret_cast<uintptr_t>(zone);
  for (uintptr_t a = start; a < start + len; a += kZoneGranule)
    __atomic_store_n(&leaf_of(a)->slot[slot_of(a)], uintptr_t{0}, __ATOMIC_RELEASE);
}

FT_CORE_TEXT void set_owner(Zone *zone, size_t len, uint32_t owner_id) {
  uintptr_t start = reinterpret_cast<uintptr_t>(zone);
  for (uintptr_t a = start; a < start + len; a += kZoneGranule) {
    uintptr_t *slot = &leaf_of(a)->slot[slot_of(a)];
    __atomic_store_n(slot, (*slot & ~kOwnerIdMask) | owner_id, __ATOMIC_RELEASE);  // the class stays
  }
}

}  // namespace ft::registry
