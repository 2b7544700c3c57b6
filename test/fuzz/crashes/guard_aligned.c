/* Under FT_MALLOC_GUARD=1, aligned requests above 4 KiB (memalign, aligned_alloc, posix_memalign
 * with an alignment of 8 KiB or more) fail with ENOMEM, unless the mapping happens to fall so
 * that the aligned start stays inside it: almost always for 16 KiB and up. Found by fuzz_heap;
 * its reproducer guard_aligned_enomem is one op, posix_memalign(65536, 0).
 * large::allocate() maps len + guard bytes page-aligned (not `align`-aligned when guarding) and
 * puts the block at (end - need) & ~(align - 1), which lies below the mapping unless the mapping
 * is aligned; it then unmaps and returns ENOMEM ("give up the tight fit" says the comment, but it
 * gives up the allocation).
 *
 *   gcc test/fuzz/crashes/guard_aligned.c -Iinc -L. -lft_malloc -o /tmp/guard_aligned
 *   FT_MALLOC_GUARD=1 /tmp/guard_aligned    # failures for 8192..65536; exit 1 (0 without GUARD)
 */
#include <ft_malloc.h>
#include <errno.h>
#include <stdio.h>

int main(void) {
    int bad = 0;
    for (size_t a = 4096; a <= 65536; a *= 2) {
        int failed = 0, err = 0;
        for (int i = 0; i < 20; i++) {
            void *p = NULL;
            int r = posix_memalign(&p, a, (size_t)i * 100);
            errno = 0;
            void *q = memalign(a, (size_t)i * 100);
            failed += (r != 0) + (q == NULL);
            if (q == NULL) err = errno;
            free(p);
            free(q);
        }
        printf("alignment %5zu: %2d of 40 calls failed (errno %d)\n", a, failed, err);
        bad |= failed != 0;
    }
    return bad;
}
