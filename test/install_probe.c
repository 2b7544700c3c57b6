/* build/install_and_pkg_config: built against a copy installed by `make install DESTDIR=...`, with
 * the flags of its pkg-config file (test/tests.mk); its block must be in show_alloc_mem's list. */
#include <ft_malloc.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    char *p = malloc(4242);
    if (!p)
        return 1;
    memset(p, 1, 4242);
    printf("PTR %p\n", (void *)p);
    fflush(stdout);
    show_alloc_mem();
    free(p);
    return 0;
}
