// The zone registry: which zone, if any, owns an address. O(1), and it never reads memory that is
// not ours, so a wild pointer handed to free() is reported instead of faulting.
//
// A two-level radix table over 48-bit addresses at the 64 KiB granule where every zone starts:
// the root (65536 entries, 512 KiB of .bss, touched only where used) points to leaves (65536
// entries, 512 KiB mapped on demand, each covering 4 GiB of address space). Updated only when a
// zone is mapped, unmapped or changes owner, under the heap lock; read with acquire loads so
// that a later lock-free reader (the per-thread cache) sees a fully built zone.
//
// An entry is the zone's address (64 KiB aligned) with the id of the thread cache that owns the
// zone in its low 16 bits (0: the zone pool's) and the zone's size class in its top bits: a free
// learns whose chunk it frees and of which class, and a cache checks that a zone is still its
// own, from the entry alone, without reading a zone header that may be going away
// (tcache/remote_free.h).
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

inline constexpr uintptr_t kOwnerIdMask = (uintptr_t{1} << kGranuleBits) - 1;
// An entry's bits from kAddressBits up hold the zone's size class plus one (an empty entry's
// class is then ~0u, no class: one comparison sends a LARGE block's free on): a free finds its
// class's cache from the entry, without reading the zone header. Zone headers all start on 64 KiB
// boundaries, so they share a few sets of the L1 and L2 caches, and a program using some twenty
// classes misses there on every free that reads one (larson: a third of free's time).
inline constexpr unsigned kClassShift = kAddressBits;
inline constexpr uintptr_t kZoneMask = ((uintptr_t{1} << kAddressBits) - 1) & ~kOwnerIdMask;

struct Leaf {
  uintptr_t slot[size_t{1} << kLeafBits];
};
extern Leaf *g_root[size_t{1} << kRootBits];

inline constexpr unsigned kLeafShift = kGranuleBits + kLeafBits;  // a leaf covers 4 GiB
// The leaf covering address a (a < 2^kAddressBits), or nullptr; a leaf, once mapped, never goes.
inline Leaf *leaf_of(uintptr_t a) { return __atomic_load_n(&g_root[a >> kLeafShift], __ATOMIC_ACQUIRE); }
inline size_t slot_of(uintptr_t a) { return (a >> kGranuleBits) & ((size_t{1} << kLeafBits) - 1); }
// a's entry in the leaf that covers it.
inline uintptr_t entry_in(const Leaf *leaf, uintptr_t a) { return __atomic_load_n(&leaf->slot[slot_of(a)], __ATOMIC_ACQUIRE); }

// The entry covering p (the zone | its owner's id), or 0. Inline: every free starts here.
inline uintptr_t lookup_entry(const void *p) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  if (a >> kAddressBits) return 0;
  Leaf *leaf = leaf_of(a);
  return leaf ? entry_in(leaf, a) : 0;
}
inline Zone *entry_zone(uintptr_t e) { return reinterpret_cast<Zone *>(e & kZoneMask); }
inline uint32_t entry_owner(uintptr_t e) { return static_cast<uint32_t>(e & kOwnerIdMask); }
inline unsigned entry_class(uintptr_t e) { return static_cast<unsigned>(e >> kClassShift) - 1; }
// Finds the zone covering p, or nullptr.
inline Zone *lookup(const void *p) { return entry_zone(lookup_entry(p)); }
// Records that [zone, zone + len) belongs to zone, of size class cls, owned by no cache. False
// if a leaf could not be mapped.
bool insert(Zone *zone, size_t len, unsigned cls);
void erase(Zone *zone, size_t len);
// The zone's owner is now the cache with this id (0: none).
void set_owner(Zone *zone, size_t len, uint32_t owner_id);

}  // namespace registry
}  // namespace ft
