/* memalign(0, n) (and __libc_memalign(0, n)) passes 0 to __builtin_clzll in heap_memalign():
 * undefined behaviour. Found by fuzz_heap against the UBSan build (make ubsan-lib); its
 * reproducer ubsan_memalign_zero is one op, memalign(0, 33). In the -O2 build gcc emits
 * `bsr`, which leaves 0 in place on x86, so the alignment happens to come out as 2 and the call
 * "works"; another compiler or target may give any alignment. glibc treats alignments up to
 * MALLOC_ALIGNMENT (0 included) as malloc; the early return `if (align <= kMinAlign)` that did
 * that is gone from heap_memalign (it now goes straight to the is_pow2 / clz rounding).
 *
 *   make ubsan-lib
 *   gcc test/fuzz/crashes/ubsan_memalign_zero.c -Iinc -Lbuild/ubsan -lft_malloc -fsanitize=undefined \
 *       -o /tmp/ubsan_memalign_zero && /tmp/ubsan_memalign_zero
 *   # src/heap.cpp:...: runtime error: passing zero to clz(), which is not a valid argument
 */
#include <ft_malloc.h>
#include <stdint.h>
#include <stdio.h>

int main(void) {
    volatile size_t align = 0;
    void *p = memalign(align, 33);
    printf("memalign(0, 33) = %p\n", p);
    free(p);
    return !p || (uintptr_t)p % 16;
}
