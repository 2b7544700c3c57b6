#include "registry.h"

#include "os.h"
#include "zone.h"

namespace ft::registry {
namespace {

constexpr unsigned kAddressBits = 48;  // user space on x86-64 and aarch64 (no 5-level hints)
constexpr unsigned kGranuleBits = 16;  // kZoneGranule
constexpr unsigned kLeafBits = 16;
constexpr unsigned kRootBits = kAddressBits - kGranuleBits - kLeafBits;  // 16
static_assert(size_t{1} << kGranuleBits == kZoneGranule);

struct Leaf {
  Zone *slot[size_t{1} << kLeafBits];
};

constinit Leaf *g_root[size_t{1} << kRootBits] = {};

Leaf *leaf_for(uintptr_t a) { return __atomic_load_n(&g_root[a >> (kGranuleBits + kLeafBits)], __ATOMIC_ACQUIRE); }
size_t slot_of(uintptr_t a) { return (a >> kGranuleBits) & ((size_t{1} << kLeafBits) - 1); }

}  // namespace

Zone *lookup(const void *p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (a >> kAddressBits) return nullptr;
  Leaf *leaf = leaf_for(a);
  return leaf ? __atomic_load_n(&leaf->slot[slot_of(a)], __ATOMIC_ACQUIRE) : nullptr;
}

bool insert(Zone *zone, size_t len) {
  uintptr_t start = reinterpret_cast<uintptr_t>(zone);
  if ((start + len) >> kAddressBits) return false;
  for (uintptr_t a = start; a < start + len; a += kZoneGranule) {
    size_t r = a >> (kGranuleBits + kLeafBits);
    if (!g_root[r]) {
      void *leaf = os::map(sizeof(Leaf));
      if (!leaf) {
        erase(zone, a - start);
        return false;
      }
      __atomic_store_n(&g_root[r], static_cast<Leaf *>(leaf), __ATOMIC_RELEASE);
    }
    __atomic_store_n(&g_root[r]->slot[slot_of(a)], zone, __ATOMIC_RELEASE);
  }
  return true;
}

void erase(Zone *zone, size_t len) {
  uintptr_t start = reinterpret_cast<uintptr_t>(zone);
  for (uintptr_t a = start; a < start + len; a += kZoneGranule)
    __atomic_store_n(&leaf_for(a)->slot[slot_of(a)], nullptr, __ATOMIC_RELEASE);
}

}  // namespace ft::registry
