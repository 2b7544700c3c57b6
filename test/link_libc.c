/* libc's own allocations (strdup, fopen's FILE, getline, asprintf, open_memstream) go through
 * ft_malloc: their pointers appear in show_alloc_mem. */
#include "common.h"

TEST(libc_allocations_listed)
{
    char *dup = strdup("hello, ft_malloc");
    CHECK(dup != NULL, "strdup failed");
    char *big = strndup("0123456789abcdefghijklmnopqrstuvwxyz", 30);
    CHECK(big != NULL, "strndup failed");
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL, "fopen failed");
    char *line = NULL;
    size_t n = 0;
    CHECK(getline(&line, &n, f) > 0, "getline failed");
    char *fmt = NULL;
    CHECK(asprintf(&fmt, "%s-%d-%0500d", "x", 42, 7) > 0, "asprintf failed");
    char *ms_buf = NULL;
    size_t ms_size = 0;
    FILE *ms = open_memstream(&ms_buf, &ms_size);
    CHECK(ms != NULL, "open_memstream failed");
    for (int i = 0; i < 3000; i++)
        fprintf(ms, "%d ", i);
    fclose(ms);

    const char *d = dump_plain();
    CHECK(dump_has_block(d, dup, 17), "strdup block %p (17 bytes) not in show_alloc_mem", (void *)dup);
    CHECK(dump_has_block(d, big, 31), "strndup block %p (31 bytes) not in show_alloc_mem", (void *)big);
    CHECK(dump_has_start(d, f), "fopen's FILE %p not in show_alloc_mem", (void *)f);
    CHECK(dump_has_start(d, line), "getline buffer %p not in show_alloc_mem", (void *)line);
    CHECK(dump_has_start(d, fmt), "asprintf buffer %p not in show_alloc_mem", (void *)fmt);
    CHECK(dump_has_start(d, ms_buf), "open_memstream buffer %p not in show_alloc_mem", (void *)ms_buf);
    void *f_addr = launder(f);
    fclose(f);
    d = dump_plain();
    CHECK(!dump_has_start(d, f_addr), "fclose did not free the FILE %p", f_addr);
    free(dup);
    free(big);
    free(line);
    free(fmt);
    free(ms_buf);
}

static const test_case cases[] = {
    CASE(libc_allocations_listed),
};

RUN_CASES(cases)
