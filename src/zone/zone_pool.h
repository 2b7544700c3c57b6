// The zone pool: every TINY and SMALL zone, and for each size class the list of its zones that
// have a free chunk (but the thread caches' home zones, which are theirs alone while they refill
// from them). The pool is the shared heap the one mutex guards.
//
// malloc takes the lowest free chunk of the first zone on its class's list: O(1). free gives the
// chunk back to the zone the registry names; a zone that becomes wholly free is unmapped, except
// one reserve zone per class (kReserveZonesPerClass) so that a malloc/free loop at a zone
// boundary does not map and unmap each time. Callers hold the heap lock unless a comment says
// otherwise.
#pragma once
#include <cstddef>
#include <cstdint>

#include "os/heap_lock.h"
#include "zone/zone.h"

namespace ft::zone_pool {

struct ClassList {
  Zone *head;            // zones with at least one free chunk; wholly free ones at the back
  Zone *tail;
  uint32_t empty_zones;  // wholly free zones kept (<= kReserveZonesPerClass)
};
extern ClassList g_lists[kClassCount];

// Allocates a chunk of class c for a request of n bytes (zeroed when `zero`). Takes the heap lock
// itself (it maps a new zone outside it); nullptr with errno = ENOMEM when the system refuses.
void *allocate(unsigned c, size_t n, bool zero);

// Frees chunk i of z (the caller resolved and validated it, under the lock). Returns a zone that
// the caller must unmap (os::unmap(zone, zone_size)) after dropping the lock, or nullptr.
Zone *free_chunk(Zone *z, uint32_t i);

// For the per-thread caches. A cached chunk is neither avail nor live: out of its zone (which
// therefore stays mapped) yet free for the program, so a free() of it is a double free.
// A cached chunk is stored as its address with bit 0 set when it is untouched (zero).
inline constexpr uintptr_t kFreshTag = 1;
// Takes up to n chunks of class c, under one lock acquisition, from the thread cache's home zone
// *home; when it has none left, *home becomes another zone (the first on the class's list, or a
// new one). A home zone is owned by its cache: off its class's list, so that no other thread
// refills from it, and kept even when wholly free. Threads sharing a zone would share its bitmap
// words and its chunks' cache lines, every malloc and free an atomic on a line the other core
// holds. Returns how many (0 when out of memory).
unsigned take_batch(unsigned c, uintptr_t *out, unsigned n, Zone **home);
// The cache gives its home zone up (its thread exits, or malloc_trim): back on its class's list,
// or unmapped (beyond the reserve) if wholly free.
void release_home(Zone **home);
// Gives n cached chunks back to their zones, under one lock acquisition.
void give_batch(const uintptr_t *chunks, unsigned n);

// malloc_trim(): unmaps every wholly free zone (the reserves too) and gives back the pages of free
// chunks inside the others. Takes the lock itself. True if anything went back to the system.
bool trim();

// Every zone, for the dump and the checks.
Zone *all_zones();
size_t zone_count();
size_t mapped_bytes();

}  // namespace ft::zone_pool
