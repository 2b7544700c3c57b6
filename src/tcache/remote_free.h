// Remote frees: a thread frees a chunk of a zone another thread's cache owns, without the heap
// lock and without writing the owner's bitmaps (which only the owner writes).
//
//   1. the freeing thread checks the chunk (live, not already pending), then one atomic OR sets
//      its pending bit (Zone::remote_free): the chunk is
//      free from that instant, and the zone is not touched again (the owner may take it in and
//      unmap the zone at once);
//   2. if the word was zero before (not announced yet), the freeing thread announces it: the entry
//      (zone | word) goes into the owner's ring of notices, which lives in the owner's cache,
//      never unmapped; a full ring raises the owner's `lost` flag instead;
//   3. the owner, when its cache runs dry for some class (tcache::refill), takes in the announced
//      words: each word's pending bits with one exchange, which leaves it zero, so
//      a later free announces the word again and no free waits unseen. An entry is checked
//      against the registry first (tcache::take_in_remote_frees): a zone unmapped or given away
//      since is never read. A lost flag makes the owner take in every zone it owns.
//
// A double free is caught: the second of two frees sees the chunk not live (taken in by the
// owner), or already pending, or, racing with the first, the atomic OR finds its bit set. Two
// frees at the same instant are a data race in the program: then the second may see the chunk
// live and not pending an instant before the first's OR: the owner finds the pending bit of a
// chunk that is not live when it takes the word in, and reports the double free there, late.
#pragma once
#include <cstdint>

#include "zone/zone.h"

namespace ft {

struct ThreadCache;

namespace remote {

// The ring (in ThreadCache): 512 entries, 4 KiB. A thread with more announced words waiting
// than that (a few hundred zones of it freed into by others since its last refill) loses the
// details, not the frees: the owner then looks at every zone it owns.
inline constexpr unsigned kNoticeSlots = 512;

// An entry: the zone's address (64 KiB aligned) with the pending word's index in its low bits.
inline constexpr uintptr_t kEntryWordMask = kZoneGranule - 1;
static_assert(kMaxBitmapWords < kEntryWordMask, "a word index fits below a zone address");

// The ring's indexes, in the first page of the owner's cache (which its thread writes anyway),
// each on a cache line of its own: others write `tail` and `lost`, the owner `head`.
struct Notices {
  alignas(64) uint64_t tail;  // next slot to fill: producers move it with a compare-and-swap
  uint64_t lost;              // 1: a producer found the ring full
  alignas(64) uint64_t head;  // next slot to take: the owner's
};
// Its slots, after the cache's classes: a thread that no other thread frees to never writes
// their pages.
struct NoticeSlots {
  alignas(64) uintptr_t slot[kNoticeSlots];  // zone | pending word; 0 while not (yet) written
};

// Announces pending word pw of zone z to cache `owner`.
void announce(ThreadCache *owner, Zone *z, uint32_t pw);

// Takes every written entry off the ring of `owner` (its own thread, or the heap lock's holder
// for a cache no thread uses), calling fn(zone, word, ctx) for each. Returns whether the lost
// flag was up (then cleared).
bool drain(ThreadCache *owner, void (*fn)(Zone *z, uint32_t pw, void *ctx), void *ctx);

// The cache with that id (registry entries carry it), or nullptr.
ThreadCache *cache_with_id(uint32_t id);

// Frees chunk i of zone z, owned by the cache with id owner_id, for a thread that is not its
// owner (`self`: the freeing thread's cache, for the count; may be nullptr). False when the chunk
// is not a live block (a double free, or never handed out): the caller reports it.
bool free_chunk(Zone *z, uint32_t i, uint32_t owner_id, ThreadCache *self);

}  // namespace remote
}  // namespace ft
