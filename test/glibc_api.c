/*
 * glibc's introspection calls answered for ft_malloc's heap (mallinfo, mallinfo2, malloc_info),
 * and a probe for the settings tests (run_tests.py reads what ft_malloc says about them).
 * Built linked with -lft_malloc, statically, and as a plain program run under LD_PRELOAD: under
 * preload, glibc's versions would describe glibc's own, nearly empty arenas.
 */
#include "common.h"

#include <limits.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

enum { kBlocks = 10000, kBlockSize = 1000, kLarge = 5 << 20 };

/* 10 MB in 1000-byte blocks and one 5 MiB LARGE block: mallinfo sees all of it, and sees it go. */
TEST(mallinfo_counts_our_heap)
{
    static void *held[kBlocks];
    struct mallinfo2 before = mallinfo2();
    for (int i = 0; i < kBlocks; i++) {
        held[i] = malloc(kBlockSize);
        CHECK(held[i], "malloc failed");
        memset(held[i], 1, kBlockSize);
    }
    void *large = malloc(kLarge);
    CHECK(large, "malloc(5 MiB) failed");
    struct mallinfo m = mallinfo();
    struct mallinfo2 m2 = mallinfo2();
    size_t blocks = (size_t)kBlocks * kBlockSize;
    CHECK(m2.uordblks >= before.uordblks + blocks, "mallinfo2: uordblks %zu after allocating %zu bytes", m2.uordblks,
          blocks);
    CHECK((size_t)m.uordblks == m2.uordblks, "mallinfo.uordblks %d, mallinfo2 %zu", m.uordblks, m2.uordblks);
    CHECK(m2.hblks >= 1 && m2.hblkhd >= kLarge, "mallinfo2: %zu mappings, %zu bytes: the 5 MiB block is missing",
          m2.hblks, m2.hblkhd);
    CHECK((size_t)m.hblkhd == m2.hblkhd && (size_t)m.hblks == m2.hblks, "mallinfo and mallinfo2 disagree on LARGE");
    CHECK(m2.arena >= m2.uordblks, "mallinfo2: arena %zu < uordblks %zu", m2.arena, m2.uordblks);
    CHECK(m2.arena == m2.uordblks + m2.fordblks, "mallinfo2: arena %zu != uordblks %zu + fordblks %zu", m2.arena,
          m2.uordblks, m2.fordblks);
    for (int i = 0; i < kBlocks; i++)
        free(held[i]);
    free(large);
    struct mallinfo2 after = mallinfo2();
    CHECK(after.uordblks + blocks / 2 < m2.uordblks, "mallinfo2: uordblks %zu after freeing 10 MB (was %zu)",
          after.uordblks, m2.uordblks);
    CHECK(after.hblkhd + kLarge <= m2.hblkhd, "mallinfo2: hblkhd %zu after freeing the 5 MiB block", after.hblkhd);
}

/* A figure past INT_MAX: mallinfo's int field reads INT_MAX (not a wrapped, negative count). */
TEST(mallinfo_clamps_to_int_max)
{
    size_t big = (size_t)3 << 30;
    void *p = malloc(big);
    CHECK(p, "malloc(3 GiB) failed (address space)");
    struct mallinfo m = mallinfo();
    struct mallinfo2 m2 = mallinfo2();
    CHECK(m2.hblkhd >= big, "mallinfo2.hblkhd %zu with a 3 GiB block live", m2.hblkhd);
    CHECK(m.hblkhd == INT_MAX, "mallinfo.hblkhd %d with a 3 GiB block live, not INT_MAX", m.hblkhd);
    CHECK(m.uordblks >= 0 && m.arena >= 0 && m.fordblks >= 0, "a negative mallinfo field");
    free(p);
}

/* The XML between two marker lines on stdout, with the program's own figures after it: the runner
 * checks that it is well-formed and that the figures are there. */
TEST(malloc_info_xml)
{
    static void *held[kBlocks];
    for (int i = 0; i < kBlocks; i++)
        held[i] = malloc(kBlockSize);
    void *large = malloc(kLarge);
    printf("XML BEGIN\n");
    fflush(stdout);
    CHECK(malloc_info(0, stdout) == 0, "malloc_info(0, stdout) failed");
    fflush(stdout);
    printf("XML END\n");
    printf("HELD %d %d %d\n", kBlocks, kBlockSize, kLarge);
    for (int i = 0; i < kBlocks; i++)
        free(held[i]);
    free(large);
}

TEST(malloc_info_rejects_options)
{
    FILE *f = tmpfile();
    CHECK(f, "tmpfile failed");
    CHECK(malloc_info(1, f) == EINVAL, "malloc_info(1, f) did not return EINVAL");
    CHECK(ftell(f) == 0, "malloc_info(1, f) wrote something");
    CHECK(malloc_info(0, f) == 0, "malloc_info(0, f) failed");
    CHECK(ftell(f) > 0, "malloc_info(0, f) wrote nothing");
    fclose(f);
}

/* The settings tests run this under FT_MALLOC_* values and read stderr. */
TEST(settings_probe)
{
    for (int i = 0; i < 1000; i++)
        free(malloc((size_t)i));
    printf("PROBE OK\n");
}

/* A double free: whether it aborts shows which FT_MALLOC_ERRORS is in effect. */
TEST(settings_double_free)
{
    void *p = malloc(32);
    free(p);
    free(launder(p));
    printf("CONTINUED\n");
}

static const test_case cases[] = {
    CASE(mallinfo_counts_our_heap),
    CASE(mallinfo_clamps_to_int_max),
    CASE(malloc_info_xml),
    CASE(malloc_info_rejects_options),
    CASE(settings_probe),
    CASE(settings_double_free),
};

RUN_CASES(cases)
