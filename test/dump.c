/*
 * show_alloc_mem / show_alloc_mem_ex. The cases that need parsing print the program's own blocks on
 * stderr, one line each:
 *     BLOCK 0x<hex> <size> <kind>     kind: m (malloc/calloc: its category and class follow the size)
 *                                           a (aligned allocation), r (result of realloc)
 *     FREED 0x<hex>                   a block freed before the dump (must not be listed)
 * then call show_alloc_mem (or _ex) on stdout; run_tests.py checks the dump against those lines.
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void report(const void *p, size_t size, char kind)
{
    dprintf(2, "BLOCK %p %zu %c\n", p, size, kind);
}

static void *m(size_t size)
{
    void *p = malloc(size);
    CHECK(p != NULL, "malloc(%zu) failed", size);
    memset(p, 0x11, size);
    return p;
}

TEST(known_heap)
{
    /* Blocks whose address may be reused are made first; nothing is allocated after the frees. */
    char *r = m(100);
    r = realloc(r, 200);
    CHECK(r != NULL, "realloc failed");
    char *r2 = m(300);
    r2 = realloc(r2, 100000);
    CHECK(r2 != NULL, "realloc failed");
    char *r3 = m(200000);
    r3 = realloc(r3, 50);
    CHECK(r3 != NULL, "realloc failed");

    static const size_t sizes[] = {0, 1, 15, 16, 17, 42, 255, 256, 257, 1000, 3725, 4096, 48847, 131072, 131073,
                                   200000, 1 << 20, 0, 42, 42, 42};
    enum { NS = sizeof sizes / sizeof sizes[0] };
    void *p[NS];
    for (int i = 0; i < NS; i++)
        p[i] = m(sizes[i]);
    void *tiny[10];
    for (int i = 0; i < 10; i++)
        tiny[i] = m(16);
    void *c = calloc(10, 30);
    CHECK(c != NULL, "calloc failed");
    void *al = memalign(4096, 5000);
    CHECK(al != NULL, "memalign failed");
    void *pm = NULL;
    CHECK(posix_memalign(&pm, 64, 70) == 0, "posix_memalign failed");
    void *aa = aligned_alloc(256, 256);
    CHECK(aa != NULL, "aligned_alloc failed");

    void *gone[6] = {m(24), m(500), m(300000), m(0), m(24), m(5000)};
    for (int i = 0; i < 6; i++)
        free(gone[i]);
    free(tiny[3]);
    free(tiny[7]);

    /* kind r: a realloc'd block may keep its category (a LARGE block shrunk in place). */
    report(r, 200, 'r');
    report(r2, 100000, 'r');
    report(r3, 50, 'r');
    for (int i = 0; i < NS; i++)
        report(p[i], sizes[i], 'm');
    for (int i = 0; i < 10; i++)
        if (i != 3 && i != 7)
            report(tiny[i], 16, 'm');
    report(c, 300, 'm');
    report(al, 5000, 'a');
    report(pm, 70, 'a');
    report(aa, 256, 'a');
    for (int i = 0; i < 6; i++)
        dprintf(2, "FREED %p\n", gone[i]);
    dprintf(2, "FREED %p\nFREED %p\n", tiny[3], tiny[7]);
    fflush(stdout);
    show_alloc_mem();
}

TEST(ex_format)
{
    char *hello = m(42);
    memset(hello, 0, 42);
    memcpy(hello, "Hello", 6);
    char *s = m(3725);
    memcpy(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ", 26);
    char *l = m(48847);
    memcpy(l, "\x01\x02\x7f\x80\xff", 5);
    char *z = m(0);
    void *gone = m(40);
    free(gone);
    report(hello, 42, 'm');
    report(s, 3725, 'm');
    report(l, 48847, 'm');
    report(z, 0, 'm');
    dprintf(2, "FREED %p\n", gone);
    fflush(stdout);
    show_alloc_mem_ex();
}

/* One block of each size from 1 to FT_SMALL_MAX in steps fine enough to hit every class. */
TEST(zone_classes)
{
    static void *p[40000];
    static size_t sz[40000];
    int n = 0;
    for (size_t s = 0; s <= FT_SMALL_MAX + 1; s += s < 64 ? 1 : s / 64) {
        CHECK(n < 40000, "too many sizes");
        sz[n] = s;
        p[n] = m(s);
        n++;
    }
    for (int i = 0; i < n; i++)
        report(p[i], sz[i], 'm');
    fflush(stdout);
    show_alloc_mem_ex();
}

/* The zones a class keeps once everything is freed: one reserve, plus, with the per-thread cache
 * on, the one zone whose chunks this thread's cache holds (a cache pins at most one zone per
 * class; FT_MALLOC_TCACHE=0 turns it off), plus those the pool keeps within its budget of wholly
 * free zones (kept_class_zones). */
static int zones_kept(void)
{
    const char *t = getenv("FT_MALLOC_TCACHE");
    return t && !strcmp(t, "0") ? 1 : 2;
}

/* Zones of one class grow to many and shrink back to the reserve (and the cache's zone); after
 * malloc_trim(0) none is left. */
static void release_class(size_t size, int count)
{
    size_t cls = expected_class(size);
    static void *p[100000];
    CHECK(count <= 100000, "count too big");
    int before = count_class_zones(dump_ex(), cls);
    for (int i = 0; i < count; i++)
        p[i] = m(size);
    int peak = count_class_zones(dump_ex(), cls);
    CHECK(peak >= 2, "%d blocks of %zu B fit in %d zone(s): test needs more", count, size, peak);
    /* Free in an interleaved order so that zones empty late. */
    for (int i = 0; i < count; i += 2)
        free(p[i]);
    for (int i = 1; i < count; i += 2)
        free(p[i]);
    const char *d = dump_ex();
    int after = count_class_zones(d, cls), most = zones_kept() + kept_class_zones(d, cls);
    CHECK(peak > most, "%d blocks of %zu B fill %d zone(s), no more than may stay kept: test needs more", count,
          size, peak);
    CHECK(after <= most, "class %zu: %d zones before, %d at the peak, %d after freeing everything (max %d)",
          cls, before, peak, after, most);
    /* And again: the reserve is reused, the count stays bounded; each round maps zones again
     * after some went back, which raises the pool's budget of kept zones to its most. */
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < count; i++)
            p[i] = m(size);
        for (int i = count; i-- > 0;)
            free(p[i]);
    }
    d = dump_ex();
    after = count_class_zones(d, cls);
    most = zones_kept() + kept_class_zones_within(d, cls, FT_KEPT_ZONE_MAX_BYTES);
    CHECK(after <= most, "class %zu: %d zones left after repeated rounds (max %d)", cls, after, most);
    CHECK(malloc_trim(0) == 1, "malloc_trim(0) released nothing with %d empty zones", after);
    after = count_class_zones(dump_ex(), cls);
    CHECK(after == 0, "class %zu: %d zones left after malloc_trim(0)", cls, after);
}

TEST(zone_release_tiny) { release_class(SZ_TINY, 100000); }
TEST(zone_release_small) { release_class(SZ_SMALL, 6000); }
TEST(zone_release_small_big_class) { release_class(FT_SMALL_MAX - 1000, 400); }

TEST(large_listed_alone)
{
    /* Every LARGE block is its own mapping: in the _ex dump each LARGE zone holds exactly one block. */
    size_t sizes[] = {FT_SMALL_MAX + 1, 200000, 1 << 20, 5000000};
    void *p[4];
    for (int i = 0; i < 4; i++) {
        p[i] = m(sizes[i]);
        report(p[i], sizes[i], 'm');
    }
    fflush(stdout);
    show_alloc_mem_ex();
}

/* Blocks far below their chunk's size (realloc shrinking in place, memalign): their size codes
 * escape into the chunk's last bytes (src/zone/zone.h: the nibble of 16 B chunks, the byte of
 * 32 B to 1 KiB), and the dump and malloc_usable_size tell the size all the same, also once the
 * program has written its whole usable room. */
TEST(sizes_far_below_the_chunk)
{
    struct {
        void *p;
        size_t n;
    } b[16];
    int nb = 0;
    static const size_t firsts[] = {16, 32, 200, 256, 700, 1000, 3000};
    for (size_t k = 0; k < sizeof firsts / sizeof firsts[0]; k++) {
        void *p = m(firsts[k]);
        void *q = realloc(p, 1);
        CHECK(q != NULL, "realloc(p of %zu, 1) failed", firsts[k]);
        b[nb].p = q;
        b[nb++].n = 1;
    }
    static const size_t aligns[] = {64, 256, 512, 1024};
    for (size_t k = 0; k < sizeof aligns / sizeof aligns[0]; k++) {
        void *p = memalign(aligns[k], 3);
        CHECK(p != NULL && (uintptr_t)p % aligns[k] == 0, "memalign(%zu, 3) failed", aligns[k]);
        memset(p, 0x22, 3);
        b[nb].p = p;
        b[nb++].n = 3;
    }
    for (int pass = 0; pass < 2; pass++) {
        const char *d = dump_plain();
        for (int k = 0; k < nb; k++) {
            size_t u = malloc_usable_size(b[k].p);
            CHECK(u >= b[k].n, "block %d: malloc_usable_size %zu for %zu bytes", k, u, b[k].n);
            CHECK(dump_has_block(d, b[k].p, b[k].n), "block %d (%zu bytes at %p) not listed as such%s", k, b[k].n,
                  b[k].p, pass ? " after its usable room was written" : "");
            if (!pass)
                memset(b[k].p, 0x33, u);
        }
    }
    for (int k = 0; k < nb; k++)
        free(b[k].p);
}

static const test_case cases[] = {
    CASE(known_heap),
    CASE(ex_format),
    CASE(zone_classes),
    CASE(zone_release_tiny),
    CASE(zone_release_small),
    CASE(zone_release_small_big_class),
    CASE(large_listed_alone),
    CASE(sizes_far_below_the_chunk),
};

RUN_CASES(cases)
