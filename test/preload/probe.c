/* Built without ft_malloc and run with LD_PRELOAD: malloc must then be ft_malloc's, which the
 * program checks by finding show_alloc_mem at run time and looking for its own block in the dump. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    char *p = malloc(4321);
    char *s = strdup("probe");
    if (!p || !s)
        return 2;
    memset(p, 1, 4321);
    void (*show)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "show_alloc_mem");
    if (!show) {
        fprintf(stderr, "FAIL: show_alloc_mem not found: ft_malloc is not loaded\n");
        return 3;
    }
    printf("PTR %p %p\n", (void *)p, (void *)s);
    fflush(stdout);
    show();
    free(p);
    free(s);
    return 0;
}
