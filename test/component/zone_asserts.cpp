/*
 * The debug build's assertions (make debug: -DFT_DEBUG=1, src/base/debug_assert.h), provoked: a
 * zone of the 32 B class mapped here and its writer's operations misused on purpose, and the
 * thread cache's fast path made to hand out a chunk its zone holds as free. Each misuse must stop
 * the program with `ft_malloc: internal error: FILE:LINE: assertion failed: ...` and SIGABRT
 * (test/runner/internals.py checks it); zone_used_rightly must run to its end. Built with
 * -DFT_DEBUG=1 against build/debug/ft_malloc_internal.o (test/component/component.mk).
 */
#include "common.h"

#include "os/mapping.h"
#include "zone/registry.h"
#include "zone/zone.h"

using namespace ft;

#if !FT_DEBUG
#error "zone_asserts is built with -DFT_DEBUG=1 (the debug build's assertions)"
#endif

static Zone *fresh_zone()
{
    os::init_page_size();
    const unsigned c = 1;  // 32 B
    const ZoneLayout &l = kLayouts[c];
    auto *z = static_cast<Zone *>(os::map_aligned(l.zone_size, kZoneGranule));
    CHECK(z, "cannot map a zone of %u B", l.zone_size);
    z->init(c);
    return z;
}

/* What a writer does: take, set live, clear live, give. No assertion fires. */
TEST(zone_used_rightly)
{
    Zone *z = fresh_zone();
    bool fresh;
    uint32_t i = z->take(&fresh);
    z->set_live(i);
    CHECK(z->clear_live(i), "chunk %u was not live", i);
    z->give(i);
    CHECK(z->empty(), "the zone is not empty again");
    printf("no assertion\n");
}

TEST(give_twice)
{
    Zone *z = fresh_zone();
    bool fresh;
    uint32_t i = z->take(&fresh);
    z->give(i);
    z->give(i);
}

TEST(give_live_chunk)
{
    Zone *z = fresh_zone();
    bool fresh;
    uint32_t i = z->take(&fresh);
    z->set_live(i);
    z->give(i);
}

TEST(set_live_twice)
{
    Zone *z = fresh_zone();
    bool fresh;
    uint32_t i = z->take(&fresh);
    z->set_live(i);
    z->set_live(i);
}

TEST(set_live_on_avail_chunk)
{
    Zone *z = fresh_zone();
    z->set_live(0);  // never taken: still avail
}

TEST(take_from_full_zone)
{
    Zone *z = fresh_zone();
    bool fresh;
    for (uint32_t k = 0; k < z->chunks; k++)
        z->take(&fresh);
    z->take(&fresh);
}

TEST(clear_live_out_of_range)
{
    Zone *z = fresh_zone();
    z->clear_live(z->chunks);
}

/* The thread cache's fast path hands out a chunk that its zone says is free: the chunk on top of
 * this thread's stack of the 32 B class (the block just freed) marked avail behind the cache's
 * back, then malloc(32) pops it. */
TEST(cache_hands_out_an_avail_chunk)
{
    void *block = malloc(32);
    CHECK(block, "malloc(32) failed");
    uintptr_t p = reinterpret_cast<uintptr_t>(launder(block));  // only its address is used below
    free(block);
    Zone *z = registry::lookup(reinterpret_cast<void *>(p));
    CHECK(z, "the block is in no zone");
    uint32_t i;
    bool exact;
    CHECK(z->locate(p, &i, &exact) && exact, "the block is no chunk start");
    set_bit(z->avail_map(), i);
    void *q = malloc(32);
    printf("malloc handed out %p again without an assertion\n", q);
}

static const test_case cases[] = {
    CASE(zone_used_rightly),
    CASE(give_twice),
    CASE(give_live_chunk),
    CASE(set_live_twice),
    CASE(set_live_on_avail_chunk),
    CASE(take_from_full_zone),
    CASE(clear_live_out_of_range),
    CASE(cache_hands_out_an_avail_chunk),
};

RUN_CASES(cases)
