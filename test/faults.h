/* The faults program: test/faults.c (the case table, RLIMIT_AS) and test/faults_inject.c (fault
 * injection). What the two files share. */
#ifndef FT_TEST_FAULTS_H
#define FT_TEST_FAULTS_H

#include "common.h"

#include <pthread.h>

#define MB (1u << 20)

/* VmSize of this process, in kB. */
long vm_size_kb(void);

/* A block with a known content: fill writes the pattern of id, expect_intact fails unless it is
 * still there. */
void fill(void *p, size_t n, uint64_t id);
void expect_intact(const void *p, size_t n, uint64_t id, const char *what);

/* A call that must fail: NULL with errno ENOMEM. */
#define EXPECT_ENOMEM(expr, what)                                                                       \
    do {                                                                                                \
        errno = 0;                                                                                      \
        void *r_ = (expr);                                                                              \
        CHECK(r_ == NULL, "%s succeeded (%p) though memory is exhausted", what, r_);                    \
        CHECK(errno == ENOMEM, "%s failed with errno %d (%s), not ENOMEM", what, errno, strerror(errno)); \
    } while (0)

/* Every entry point works (memory is back). */
void every_entry_point_works(void);

/* test/faults_inject.c */
TEST_EXTERN(inject_new_zone);
TEST_EXTERN(inject_large_mapping);
TEST_EXTERN(inject_large_table_growth);
TEST_EXTERN(inject_registry_leaf);
TEST_EXTERN(inject_realloc_mremap);
TEST_EXTERN(inject_realloc_moving_pages);
TEST_EXTERN(inject_gathering_refused);
TEST_EXTERN(inject_realloc_mremap_copies);
TEST_EXTERN(inject_refusal_then_retry);
TEST_EXTERN(inject_thread_cache_mapping);
TEST_EXTERN(inject_sweep);

#endif
