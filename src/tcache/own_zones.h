// The zones a thread's cache owns, and its stacks: for each class, the current zone the fast
// paths read and the lists of the others; chunks going back from a stack into their zones; a
// zone that holds no block going back to the pool (settle); the current zone's pages kept within
// a budget; refill; the frees of a thread into its own zones (free_owned, free_unlocked's own
// path). Everything here is the owner's thread's, without the lock, but where it hands a zone to
// the pool (zone/zone_pool.h). The cache's life (attach, exit, fork, trim) is thread_cache.cpp's.
#pragma once
#include <cstdint>

#include "tcache/thread_cache.h"

namespace ft::tcache {

// The zone z, owned, off its list (not current).
void list_unlink(OwnedList &l, Zone *z);
// No current zone for cc any more (the zone counts its stacked chunks from now on).
void clear_current(ThreadCache *tc, ClassCache &cc);
// cc's push limit fitted to its current zone's free chunks, which changed (thread_cache.h).
void fit_push_limit(ClassCache &cc);
// Every entry of cc's stack back into its zone, the zones' lists and the current zone (its push
// limit) left to the caller.
void flush_stack(ClassCache &cc);
// The n oldest entries of cc's stack back into their zones (no lock); a zone left holding no
// block goes back to the pool.
void give_back_oldest(ClassCache &cc, unsigned n);
// Zone z of cc, owned and not current, gained free chunks or stacked ones: on the right list, or
// back to the pool when it holds no block. True when it went back (not to be read again).
bool settle(ClassCache &cc, Zone *z);

}  // namespace ft::tcache
