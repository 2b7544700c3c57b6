/*
 * Component test of the zone layouts (src/zone/zone.h) for every class: the design card (at
 * least 100 chunks, a multiple of the page size), the parts in order without overlap (the header,
 * the avail, live and pending bitmaps, the size codes, the chunks), chunk alignment, the index
 * reciprocal exact for every chunk, and a real zone of each class mapped here: every chunk taken
 * lowest first, every size code round-tripped, every chunk given back.
 */
#include "common.h"

#include "base/size_class.h"
#include "os/mapping.h"
#include "zone/zone.h"

using namespace ft;

/* Every class's layout, from the table computed at compile time. */
TEST(layouts_of_every_class)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (unsigned c = 0; c < kClassCount; c++) {
        const ZoneLayout &l = kLayouts[c];
        CHECK(l.chunk_size == class_size(c), "class %u: chunk %u, class size %zu", c, l.chunk_size, class_size(c));
        CHECK(l.chunks >= kMinChunksPerZone, "class %u: %u chunks (< 100)", c, l.chunks);
        CHECK(l.zone_size % kZoneGranule == 0 && l.zone_size % page == 0, "class %u: zone %u B not a multiple of a page",
              c, l.zone_size);
        CHECK(l.words == (l.chunks + 63) / 64, "class %u: %u bitmap words for %u chunks", c, l.words, l.chunks);
        CHECK(l.live_offset == kZoneHeaderSize + l.words * 8, "class %u: live bitmap at %u", c, l.live_offset);
        CHECK(l.pending_offset == l.live_offset + l.words * 8, "class %u: pending bitmap at %u", c, l.pending_offset);
        CHECK(l.codes_offset == l.pending_offset + l.words * 8, "class %u: codes at %u", c,
              l.codes_offset);
        size_t codes = code_bytes_for(c, l.chunks);
        CHECK(l.colors >= 1 && l.colors <= kMaxColors && (l.colors & (l.colors - 1)) == 0, "class %u: %u colors", c,
              l.colors);
        CHECK(l.data_offset >= l.codes_offset + codes + (l.colors - 1) * kColorStep,
              "class %u: the chunks overlap the size codes of the last color", c);
        CHECK(l.data_offset % l.chunk_align == 0, "class %u: chunk 0 at %u, not aligned to %u", c, l.data_offset,
              l.chunk_align);
        CHECK(l.data_offset + (size_t)l.chunks * l.chunk_size <= l.zone_size, "class %u: chunks overflow the zone", c);
        /* No room left for one more chunk (the layout is as dense as the zone allows), unless the
         * bitmaps' bound (4096 chunks) or a 4-bit code more would push it over. */
        size_t spare = l.zone_size - l.data_offset - (size_t)l.chunks * l.chunk_size;
        CHECK(spare < 2 * (size_t)l.chunk_size || l.chunks == kMaxChunksPerZone, "class %u: %zu bytes left unused", c,
              spare);
        /* The reciprocal: index = (offset * magic) >> 64, exact for every chunk start and end. */
        for (uint64_t i = 0; i < l.chunks; i++) {
            uint64_t starts = i * l.chunk_size, last = starts + l.chunk_size - 1;
            uint64_t a = (uint64_t)(((unsigned __int128)starts * l.div_magic) >> 64);
            uint64_t b = (uint64_t)(((unsigned __int128)last * l.div_magic) >> 64);
            CHECK(a == i && b == i, "class %u chunk %lu: reciprocal gives %lu and %lu", c, (unsigned long)i,
                  (unsigned long)a, (unsigned long)b);
        }
    }
    CHECK(kLayouts[0].chunks >= 65536 / 17, "16 B zones: %u chunks, 17 B or more each", kLayouts[0].chunks);
}

/* A zone of each class, mapped here as the zone pool maps it (64 KiB aligned). */
TEST(real_zone_of_every_class)
{
    os::init_page_size();
    for (unsigned c = 0; c < kClassCount; c++) {
        const ZoneLayout &l = kLayouts[c];
        auto *z = static_cast<Zone *>(os::map_aligned(l.zone_size, kZoneGranule));
        CHECK(z, "class %u: cannot map a zone of %u B", c, l.zone_size);
        z->init(c);
        CHECK(z->empty() && z->avail == l.chunks && z->hwm == 0, "class %u: a fresh zone is not empty", c);
        for (uint32_t i = 0; i < l.chunks; i++) {
            bool fresh;
            uint32_t got = z->take(&fresh);
            CHECK(got == i && fresh, "class %u: take #%u gave chunk %u (fresh %d): not lowest first", c, i, got, fresh);
            uintptr_t p = (uintptr_t)z->chunk(i);
            CHECK(p % 16 == 0 && p % l.chunk_align == 0, "class %u chunk %u at %#lx misaligned", c, i, (unsigned long)p);
            uint32_t idx;
            bool exact;
            CHECK(z->locate(p, &idx, &exact) && idx == i && exact, "class %u: locate(chunk %u) failed", c, i);
            CHECK(z->locate(p + l.chunk_size - 1, &idx, &exact) && idx == i && !exact, "class %u: interior of %u", c, i);
            CHECK(z->index_of(p) == i, "class %u: index_of(chunk %u)", c, i);
            z->set_live(i);
            /* Every size the class serves, and the smallest (the nibble's escape code); one chunk in
             * five any size up to the chunk (memalign, realloc shrinking in place: the escapes). */
            size_t lo = c ? class_size(c - 1) + 1 : 0;
            size_t n = i % 5 == 4 ? (i * 7919) % (l.chunk_size + 1) : lo + (i * 7919) % (l.chunk_size - lo + 1);
            z->set_size(i, n);
            CHECK(z->size(i) == n, "class %u chunk %u: size %zu read back as %zu", c, i, n, z->size(i));
            CHECK(z->usable(i) >= n && z->usable(i) <= l.chunk_size, "class %u: usable %zu for %zu", c, z->usable(i), n);
        }
        CHECK(z->avail == 0 && z->summary == 0, "class %u: a full zone shows free chunks", c);
        uint32_t past;
        bool past_exact;
        CHECK(!z->locate((uintptr_t)z->chunk(l.chunks), &past, &past_exact), "class %u: the end of the chunks is in them",
              c);
        CHECK(!z->locate(z->data() - 1, &past, &past_exact), "class %u: the byte before chunk 0 is in the chunks", c);
        for (uint32_t i = l.chunks; i-- > 0;) {
            CHECK(z->clear_live(i), "class %u: chunk %u was not live", c, i);
            z->give(i);
        }
        CHECK(z->empty() && z->hwm == l.chunks, "class %u: giving every chunk back does not empty the zone", c);
        bool fresh;
        CHECK(z->take(&fresh) == 0 && !fresh, "class %u: a reused chunk reads as fresh", c);
        os::unmap(z, l.zone_size);
    }
}

/* Zones of one class side by side take the colors in turn: their bitmaps and codes lie a cache
 * line apart from one zone to the next, within the room their layout keeps. */
TEST(neighbour_zones_take_the_colors_in_turn)
{
    os::init_page_size();
    const unsigned c = 1;  /* 32 B: kMaxColors colors */
    const ZoneLayout &l = kLayouts[c];
    CHECK(l.colors == kMaxColors && l.zone_size == kZoneGranule, "class %u: %u colors, zone %u B", c, l.colors,
          l.zone_size);
    char *run = static_cast<char *>(os::map_aligned(kMaxColors * kZoneGranule, kZoneGranule));
    CHECK(run, "cannot map %u zones", kMaxColors);
    bool seen[kMaxColors] = {};
    for (unsigned k = 0; k < kMaxColors; k++) {
        auto *z = reinterpret_cast<Zone *>(run + k * kZoneGranule);
        z->init(c);
        unsigned color = (z->live_offset - l.live_offset) / kColorStep;
        CHECK(color < kMaxColors && z->live_offset == l.live_offset + color * kColorStep, "zone %u: live at %u", k,
              z->live_offset);
        CHECK(z->avail_offset == kZoneHeaderSize + color * kColorStep &&
                  z->pending_offset == l.pending_offset + color * kColorStep &&
                  z->codes_offset == l.codes_offset + color * kColorStep,
              "zone %u: its parts do not share its color %u", k, color);
        CHECK(!seen[color], "zones side by side share color %u", color);
        seen[color] = true;
        /* The last chunk's code lies below chunk 0. */
        CHECK(z->codes() + code_bytes_for(c, l.chunks) <= reinterpret_cast<uint8_t *>(z->chunk(0)), "zone %u: codes overlap", k);
        bool fresh;
        uint32_t i = z->take(&fresh);
        z->set_live(i);
        z->set_size(i, 20);
        CHECK(z->size(i) == 20 && z->live_bit(i), "zone %u: chunk %u's state did not read back", k, i);
    }
    os::unmap(run, kMaxColors * kZoneGranule);
}

static const test_case cases[] = {
    CASE(neighbour_zones_take_the_colors_in_turn),
    CASE(layouts_of_every_class),
    CASE(real_zone_of_every_class),
};

RUN_CASES(cases)
