/*
 * Component test of the owner's ring of remote-free notices (src/tcache/remote_free.h): a notice
 * names a zone and a pending word. One can outlive its zone: announced to a cache whose thread
 * then gave the zone up, the zone unmapped and another class's zone mapped at the same address
 * since. Taking it in must not read or write past that zone's pending bitmap, which the size
 * codes follow (seen once in CI: the debug build's assertion i < chunks in collect_pending_word).
 * Built against build/ft_malloc_internal.o (test/component/component.mk).
 */
#include <malloc.h>

#include "common.h"

#include "tcache/remote_free.h"
#include "tcache/thread_cache.h"
#include "zone/registry.h"
#include "zone/zone.h"

namespace {

constexpr unsigned kBlocks = 40;
constexpr size_t kSize = 1000;  // a SMALL class with a size code per chunk

}  // namespace

/* A notice naming words past the zone's bitmaps is dropped: the blocks' sizes (their codes, just
 * past the pending bitmap) and the heap stay intact. */
TEST(notice_past_the_zone_is_dropped)
{
    void *blocks[kBlocks];
    size_t usable[kBlocks];
    for (unsigned k = 0; k < kBlocks; k++) {
        blocks[k] = malloc(kSize - k);
        CHECK(blocks[k], "malloc failed");
        usable[k] = malloc_usable_size(blocks[k]);
    }
    ft::ThreadCache *tc = ft::own_cache();
    CHECK(tc, "no thread cache");
    ft::Zone *z = ft::registry::lookup(blocks[0]);
    CHECK(z && ft::registry::entry_owner(ft::registry::lookup_entry(blocks[0])) == tc->owner_id,
          "the first block's zone is not this thread's");
    unsigned words = z->layout().words;
    for (unsigned pw = words; pw < words + 4; pw++) ft::remote::announce(tc, z, pw);
    ft::tcache::take_in_remote_frees(tc);
    for (unsigned k = 0; k < kBlocks; k++)
        CHECK(malloc_usable_size(blocks[k]) == usable[k], "block %u: usable size %zu, was %zu", k,
              malloc_usable_size(blocks[k]), usable[k]);
    CHECK(ft_malloc_check() == 0, "the heap check failed");
    for (unsigned k = 0; k < kBlocks; k++) free(blocks[k]);
}

/* A notice naming a word within the zone's bitmaps is taken in as usual, even with no pending
 * bit there: nothing changes. */
TEST(notice_within_the_zone_takes_nothing_wrongly)
{
    void *p = malloc(kSize);
    CHECK(p, "malloc failed");
    ft::ThreadCache *tc = ft::own_cache();
    ft::Zone *z = ft::registry::lookup(p);
    ft::remote::announce(tc, z, 0);
    ft::tcache::take_in_remote_frees(tc);
    CHECK(malloc_usable_size(p) >= kSize, "the block's size changed");
    CHECK(ft_malloc_check() == 0, "the heap check failed");
    free(p);
}

static const test_case cases[] = {
    CASE(notice_past_the_zone_is_dropped),
    CASE(notice_within_the_zone_takes_nothing_wrongly),
};

RUN_CASES(cases)
