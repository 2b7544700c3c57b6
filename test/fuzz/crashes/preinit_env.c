/* ft_malloc ignores FT_MALLOC_* when the process's first allocation runs before libc has set up
 * environ (a .preinit_array function; in every `clang -fsanitize=fuzzer` binary the UBSan
 * runtime's pre-init calls dlsym, which mallocs). The variables are read once, at that first
 * allocation, so the whole run silently goes without the debug mode asked for.
 *
 *   gcc test/fuzz/crashes/preinit_env.c -Iinc -L. -lft_malloc -o /tmp/preinit_env
 *   FT_MALLOC_CHECK=1 /tmp/preinit_env      # prints "usable 112", exit 1 (expected: 100, exit 0)
 * Without the .preinit_array entry the same program prints 100.
 */
#include <ft_malloc.h>
#include <stdio.h>
#include <stdlib.h>

static void early(void) { free(malloc(1)); }
__attribute__((section(".preinit_array"), used)) static void (*const preinit)(void) = early;

int main(void) {
    void *p = malloc(100);
    size_t u = malloc_usable_size(p);
    printf("FT_MALLOC_CHECK=%s: malloc_usable_size(malloc(100)) = %zu (100 when the canary mode is on)\n",
           getenv("FT_MALLOC_CHECK") ? getenv("FT_MALLOC_CHECK") : "(unset)", u);
    free(p);
    return getenv("FT_MALLOC_CHECK") && u != 100;
}
