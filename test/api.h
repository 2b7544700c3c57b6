/* The api program: test/api.c (the case table, malloc, calloc, realloc) and test/api_align.c (the
 * aligned allocations, free_sized). What the two files share. */
#ifndef FT_TEST_API_H
#define FT_TEST_API_H

#include "common.h"

#include <stdint.h>

/* The page size (set by main). */
extern long page;

/* p is a block of at least `size` usable bytes from `what`, aligned to FT_ALIGN. */
void check_block(void *p, size_t size, const char *what);

/* test/api_align.c */
TEST_EXTERN(posix_memalign_einval);
TEST_EXTERN(posix_memalign_enomem);
TEST_EXTERN(posix_memalign_keeps_errno);
TEST_EXTERN(aligned_all_alignments);
TEST_EXTERN(aligned_many_live);
TEST_EXTERN(aligned_alloc_non_power_of_two);
TEST_EXTERN(memalign_non_power_of_two);
TEST_EXTERN(memalign_small_alignments);
TEST_EXTERN(aligned_huge_alignments);
TEST_EXTERN(realloc_aligned_blocks);
TEST_EXTERN(valloc_pvalloc);
TEST_EXTERN(free_sized);

#endif
