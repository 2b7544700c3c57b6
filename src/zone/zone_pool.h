// The zone pool: every TINY and SMALL zone, and for each size class the list of the zones no
// thread cache owns that have a free chunk. The pool is the shared heap the one mutex guards.
//
// A zone is either owned by one thread cache (tcache/), which alone changes its chunk state, or
// the pool's. Zones change hands here, under the heap lock: a cache acquires one to allocate from
// (acquire: the first on its class's list, or a new mapping), gives back one that became wholly
// free (release), gives up all of its zones when its thread exits (abandon), or adopts a zone
// nobody owns when it frees a chunk of it (adopt). Without a cache (FT_MALLOC_TCACHE=0, the debug
// modes, a thread's last frees after its cache is gone) a call takes a chunk of the pool's zones
// or gives it back under the lock (allocate, free_chunk).
//
// A zone that becomes wholly free stays mapped, its written pages resident, while the pool's
// budget of such zones allows (kKeptBytes, 2 MiB in all, up to 8 MiB for a heap that shrinks
// and grows again: threads that come and go find the zones of those gone ready); past it, one reserve zone per class stays (kReserveZonesPerClass, so
// that a malloc/free loop at a zone boundary does not map and unmap each time) and the others
// are unmapped. Callers hold the heap lock unless a comment says otherwise.
#pragma once
#include <cstddef>
#include <cstdint>

#include "os/heap_lock.h"
#include "zone/zone.h"

namespace ft::zone_pool {

// Wholly free zones stay mapped with their written pages resident, whatever their class, while
// they hold at most kKeptBytes in all (the first kept keep their place until they serve again or
// malloc_trim runs); past the budget a zone is its class's reserve or is unmapped. A program
// whose threads come and go (each allocates from zones of its own, given back as they empty or
// at its exit) then finds its next threads' zones mapped and written: with the reserves alone,
// mimalloc-bench's mstress (2 threads, 25 rounds) made 850 memory system calls and 20,000 page
// faults (glibc 5,800), 1.3x-1.6x glibc's time; with 2 MiB kept, 414 calls and 9,800 faults.
// 4 MiB made 3,200 faults, but a freed 200 MB peak then left 9.7 MB resident, past the 8 MiB we
// allow it; with 2 MiB it leaves 7.7 MiB (5.8 MiB with the reserves alone).
inline constexpr size_t kKeptBytes = size_t{2} << 20;
// The budget doubles, up to kKeptMaxBytes, each time the pool maps a zone after it gave written
// pages back (a zone unmapped, or a reserve's pages dropped): a heap that shrinks and grows again
// (threads that come and go, rounds of work) keeps more of what it will write again, while a
// heap that grew once and was freed keeps 2 MiB. mstress with 2 threads, 100 rounds of 100 %
// load: 160,000 page faults at 2 MiB (1.38x glibc's time), 127,000 at 4 MiB, 27,600 at 8 MiB
// (1.0x; glibc 20,000-40,000). malloc_trim sets it back to kKeptBytes, and so does a heap that
// shrinks by more than kShedAfterBytes between two zone mappings (a peak freed), which also gives
// back the zones kept beyond kKeptBytes.
inline constexpr size_t kKeptMaxBytes = size_t{8} << 20;
inline constexpr size_t kShedAfterBytes = size_t{16} << 20;

// Which list a zone's links belong to (Zone::list): the pool's, or none; a thread cache marks the
// zones it owns with values of its own (tcache/thread_cache.h).
inline constexpr uint8_t kOffList = 0;
inline constexpr uint8_t kOnPoolList = 1;

struct ClassList {
  Zone *head;            // zones with at least one free chunk; wholly free ones at the back
  Zone *tail;
  uint32_t empty_zones;  // wholly free zones kept: those within the kept budget, and a reserve
};
extern ClassList g_lists[kClassCount];

// Allocates a chunk of class c for a request of n bytes (zeroed when `zero`). Takes the heap lock
// itself (it maps a new zone outside it); nullptr with errno = ENOMEM when the system refuses.
void *allocate(unsigned c, size_t n, bool zero);

// Frees chunk i of z (the caller resolved and validated it, under the lock). Returns a zone that
// the caller must unmap (os::unmap(zone, zone_size)) after dropping the lock, or nullptr.
Zone *free_chunk(Zone *z, uint32_t i);

// For the per-thread caches (take the heap lock themselves; `owner` is the ThreadCache).
// A zone of class c for `owner` to allocate from: the first on the class's list (its remote frees
// taken in) or a new one; owned from now on, off every pool list. nullptr when out of memory.
Zone *acquire(unsigned c, ZoneOwner *owner);
// The owner gives back a zone that became wholly free: the reserve, or unmapped.
void release(Zone *z);
// The owner gives up n zones it owns (its thread exits): their remote frees taken in, each on
// its class's list, or off-list if full, or the reserve / unmapped if wholly free.
void abandon(Zone *const *zones, unsigned n);
// A zone nobody owns, where the caller's thread frees a chunk: `owner` adopts it (its remote
// frees taken in). False if someone owns it meanwhile.
bool adopt(Zone *z, ZoneOwner *owner);
// A zone whose remote frees were announced to an owner that gave it up meanwhile: they are taken
// in here. Does nothing to a zone owned again.
void collect_unowned(Zone *z);

// A zone that the pool gave up (returned by free_chunk; unregistered already) is unmapped, in a
// batch with others: adjacent zones go in one munmap. Takes the lock itself.
void unmap_zone(Zone *z);

// For a zone's writer: the pages of its free chunks written beyond max(64 KiB, 2 chunks) are
// given back (madvise), as the pool does for its reserve zones. The zone must hold no live chunk
// (its free chunks may be out of it, in its owner's cache). No lock.
void give_back_pages(Zone *z);

// malloc_trim(): unmaps every wholly free zone of the pool (the reserves too) and gives back the
// pages of free chunks inside the pool's others and inside the caller's own zones (`owner`, or
// nullptr): never those of a zone another thread owns, whose free chunks it may be writing. Takes
// the lock itself. True if anything went back to the system.
bool trim(ZoneOwner *owner);

// Every zone, for the dump and the checks.
Zone *all_zones();
size_t zone_count();
size_t mapped_bytes();

}  // namespace ft::zone_pool
