/* which_malloc: prints the file that the process's malloc comes from (malloc_from=PATH), so that
 * the benchmark driver can check that LD_PRELOAD really put the allocator under test in place. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    void *f = dlsym(RTLD_DEFAULT, "malloc");
    Dl_info info;
    void *p = malloc(100);
    if (!p)
        return 1;
    free(p);
    if (!f || !dladdr(f, &info) || !info.dli_fname)
        return 1;
    printf("malloc_from=%s\n", info.dli_fname);
    return 0;
}
