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

// Finds the zone covering p, or nullptr.
Zone *lookup(const void *p);
// Records that [zone, zone + len) belongs to zone. False if a leaf could not be mapped.
bool insert(Zone *zone, size_t len);
void erase(Zone *zone, size_t len);

}  // namespace registry
}  // namespace ft
