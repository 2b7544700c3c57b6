// The zone registry: which zone, if any, owns an address. O(1), and it never reads memory that is
// not ours, so a wild pointer handed to free() is reported instead of faulting.
//
// A two-level radix table over 48-bit addresses at the 64 KiB granule where every zone starts:
// the root (65536 entries, 512 KiB of .bss, touched only where used) points to leaves (65536
// entries, 512 KiB mapped on demand, each covering 4 GiB of address space). Updated only when a
// zone is mapped or unmapped, under the heap lock; read with acquire loads so that a later
// lock-free reader (the per-thread cache) sees a fully built zone.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ft {

struct Zone;

namespace registry {

inline constexpr unsigned kAddressBits = 48;  // user space on x86-64 and aarch64 (no 5-level hints)
inline constexpr unsigned kGranuleBits = 16;  // zones start on 64 KiB boundaries
inline constexpr unsigned kLeafBits = 16;
inline constexpr unsigned kRootBits = kAddressBits - kGranuleBits - kLeafBits;  // 16

struct Leaf {
  Zone *slot[size_t{1} << kLeafBits];
};
extern Leaf *g_root[size_t{1} << kRootBits];

// Finds the zone covering p, or nullptr. Inline: every free starts here.
inline Zone *lookup(const void *p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (a >> kAddressBits) return nullptr;
  Leaf *leaf = __atomic_load_n(&g_root[a >> (kGranuleBits + kLeafBits)], __ATOMIC_ACQUIRE);
  return leaf ? __atomic_load_n(&leaf->slot[(a >> kGranuleBits) & ((size_t{1} << kLeafBits) - 1)], __ATOMIC_ACQUIRE)
              : nullptr;
}
// Records that [zone, zone + len) belongs to zone. False if a leaf could not be mapped.
bool insert(Zone *zone, size_t len);
void erase(Zone *zone, size_t len);

}  // namespace registry
}  // namespace ft
