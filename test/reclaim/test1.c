/* The 42 subject's page-reclaim program test1 (its correction sheet counts minor page faults:
 * test/runner/page_reclaim.py). */
#include <stdlib.h>

int main(void)
{
    int i;
    char *addr;
    i = 0;
    while (i < 1024) {
        addr = (char *)malloc(1024);
        addr[0] = 42;
        i++;
    }
    return 0;
}
