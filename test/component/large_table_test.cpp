/*
 * Component test of the LARGE table (src/large/large_table.h): open addressing with linear
 * probing, growth by doubling at half load, backward-shift deletion (no tombstones), cached
 * (parked) entries that are no blocks. The blocks
 * are made-up addresses: the table stores and compares them, never touches them. Counts are
 * checked as deltas: the program's own heap may hold LARGE blocks too.
 */
#include "common.h"

#include "large/large_table.h"

using ft::LargeBlock;
namespace large = ft::large;

namespace {

constexpr uintptr_t kBase = uintptr_t{0x6e6e} << 32;
constexpr size_t kPage = 4096;

LargeBlock block(unsigned k, size_t pages = 3) {
    uintptr_t base = kBase + uintptr_t{k} * 64 * kPage;
    return LargeBlock{base, base, pages * kPage, pages * kPage - 100, base + pages * kPage};
}

}  // namespace

/* Thousands of entries: the table grows (it starts at 256 slots, half load at most) and finds
 * every one; mapped bytes follow. */
TEST(grows_and_finds_all)
{
    size_t count0 = large::count(), mapped0 = large::mapped_bytes();
    enum { kBlocks = 5000 };
    for (unsigned k = 0; k < kBlocks; k++)
        CHECK(large::insert(block(k)), "insert %u failed", k);
    CHECK(large::count() == count0 + kBlocks, "count %zu, expected %zu", large::count(), count0 + kBlocks);
    CHECK(large::mapped_bytes() == mapped0 + kBlocks * 3 * kPage, "mapped bytes do not add up");
    for (unsigned k = 0; k < kBlocks; k++) {
        LargeBlock *b = large::find(block(k).user);
        CHECK(b && b->user == block(k).user && b->map_len == 3 * kPage, "block %u not found after growth", k);
    }
    CHECK(!large::find(block(kBlocks).user) && !large::find(block(0).user + kPage), "found a block never inserted");
    for (unsigned k = 0; k < kBlocks; k++)
        large::erase(large::find(block(k).user));
    CHECK(large::count() == count0 && large::mapped_bytes() == mapped0, "erasing everything left counts behind");
}

/* Erasing in a scrambled order: after every erase, every block still in the table is found and
 * every erased one is not. A wrong backward shift loses an entry of a probe run, or keeps one. */
TEST(backward_shift_delete)
{
    enum { kBlocks = 2000 };
    static bool present[kBlocks];
    for (unsigned k = 0; k < kBlocks; k++) {
        CHECK(large::insert(block(k, 1 + k % 5)), "insert");
        present[k] = true;
    }
    rng_t r;
    rng_seed(&r, 7);
    for (unsigned step = 0; step < kBlocks; step++) {
        unsigned k;
        do k = (unsigned)rng_below(&r, kBlocks);
        while (!present[k]);
        LargeBlock *b = large::find(block(k).user);
        CHECK(b, "block %u missing before its erase (step %u)", k, step);
        large::erase(b);
        present[k] = false;
        if (step % 37 == 0 || step > kBlocks - 50)
            for (unsigned j = 0; j < kBlocks; j++)
                CHECK((large::find(block(j).user) != nullptr) == present[j], "after erasing %u at step %u, block %u %s",
                      k, step, j, present[j] ? "is lost" : "is still found");
        /* Re-insert some: holes are reused without tombstones. */
        if (step % 5 == 0) {
            unsigned back = (unsigned)rng_below(&r, kBlocks);
            if (!present[back]) {
                CHECK(large::insert(block(back, 1 + back % 5)), "re-insert");
                present[back] = true;
            }
        }
    }
    for (unsigned j = 0; j < kBlocks; j++)
        if (present[j])
            large::erase(large::find(block(j).user));
}

/* containing(): the block whose mapping holds an address (error reports only). resize():
 * the mapping shrinks and the counts follow. */
TEST(containing_and_resize)
{
    size_t mapped0 = large::mapped_bytes();
    LargeBlock b = block(9000, 8);
    CHECK(large::insert(b), "insert");
    CHECK(large::containing(b.user + 5 * kPage + 7) && large::containing(b.user + 5 * kPage + 7)->user == b.user,
          "an address inside the mapping is not found");
    CHECK(!large::containing(b.user + 8 * kPage), "the byte after the mapping is found");
    large::resize(large::find(b.user), 2 * kPage);
    CHECK(large::mapped_bytes() == mapped0 + 2 * kPage, "resize: mapped bytes %zu", large::mapped_bytes() - mapped0);
    CHECK(!large::containing(b.user + 5 * kPage), "after the shrink, the dropped pages are still the block's");
    CHECK(large::find(b.user)->end == b.base + 2 * kPage, "resize did not move the usable end");
    large::erase(large::find(b.user));
    CHECK(large::mapped_bytes() == mapped0, "counts after erase");
}

/* The memory of recent frees: the last 64 are recognised, older ones forgotten. */
TEST(recent_frees_ring)
{
    for (unsigned k = 0; k < 70; k++)
        large::remember_freed(block(20000 + k));
    size_t size = 0;
    CHECK(!large::was_freed(block(20000).user, &size), "the 1st of 70 frees is still remembered");
    CHECK(!large::was_freed(block(20005).user, &size), "the 6th of 70 frees is still remembered");
    CHECK(large::was_freed(block(20006).user, &size) && size == block(20006).size, "the 7th of 70 is forgotten");
    CHECK(large::was_freed(block(20069).user, &size), "the last free is forgotten");
    CHECK(!large::was_freed(0, &size), "0 counts as freed");
}

/* for_each visits each block once. */
TEST(for_each_visits_each_once)
{
    enum { kBlocks = 300 };
    for (unsigned k = 0; k < kBlocks; k++)
        CHECK(large::insert(block(30000 + k)), "insert");
    struct Seen { unsigned ours, total; } seen = {0, 0};
    large::for_each(
        [](const LargeBlock &b, void *ctx) {
            auto *s = static_cast<Seen *>(ctx);
            s->total++;
            if (b.user >= block(30000).user && b.user <= block(30000 + kBlocks - 1).user)
                s->ours++;
        },
        &seen);
    CHECK(seen.ours == kBlocks, "for_each saw %u of our %u blocks", seen.ours, (unsigned)kBlocks);
    CHECK(seen.total == large::count(), "for_each saw %u blocks, count() says %zu", seen.total, large::count());
    for (unsigned k = 0; k < kBlocks; k++)
        large::erase(large::find(block(30000 + k).user));
}

/* A parked (cached) entry is no block: find, containing, for_each and the counts skip it, while
 * find_entry still finds it, also by a stale hint after the table moved entries; unparked,
 * it is a block again. */
TEST(parked_entry_is_no_block)
{
    size_t count0 = large::count(), mapped0 = large::mapped_bytes();
    LargeBlock b = block(40000, 4);
    CHECK(large::insert(b), "insert");
    LargeBlock *slot = large::find(b.user);
    large::park(slot);
    CHECK(!large::find(b.user) && !large::containing(b.user + kPage), "a parked entry is found as a block");
    CHECK(large::find_entry(b.user) == slot && slot->cached, "find_entry misses the parked entry");
    CHECK(large::count() == count0 && large::mapped_bytes() == mapped0, "a parked entry is counted live");
    unsigned visited = 0;
    large::for_each([](const LargeBlock &, void *ctx) { ++*static_cast<unsigned *>(ctx); }, &visited);
    CHECK(visited == large::count(), "for_each visits %u entries, %zu live", visited, large::count());
    /* The table grows (and moves every entry): the old slot is a stale hint, which the moves
     * count tells. */
    uint64_t moves0 = large::moves();
    CHECK(large::find_entry(b.user, slot, moves0) == slot, "an unmoved hint is not used");
    enum { kMore = 3000 };
    for (unsigned k = 0; k < kMore; k++)
        CHECK(large::insert(block(41000 + k)), "insert %u", k);
    CHECK(large::moves() != moves0, "the table grew and moves() did not change");
    LargeBlock *moved = large::find_entry(b.user, slot, moves0);
    CHECK(moved && moved->user == b.user && moved->cached, "a stale hint does not lead to the entry");
    LargeBlock again = b;
    again.size = 12345;
    large::unpark(moved, again);
    CHECK(large::find(b.user) && large::find(b.user)->size == 12345 && !large::find(b.user)->cached,
          "the unparked entry is no block");
    CHECK(large::count() == count0 + kMore + 1 && large::mapped_bytes() == mapped0 + (kMore * 3 + 4) * kPage,
          "counts after unpark");
    for (unsigned k = 0; k < kMore; k++)
        large::erase(large::find(block(41000 + k).user));
    large::erase(large::find(b.user));
    CHECK(large::count() == count0 && large::mapped_bytes() == mapped0, "counts at the end");
}

static const test_case cases[] = {
    CASE(parked_entry_is_no_block),
    CASE(grows_and_finds_all),
    CASE(backward_shift_delete),
    CASE(containing_and_resize),
    CASE(recent_frees_ring),
    CASE(for_each_visits_each_once),
};

RUN_CASES(cases)
