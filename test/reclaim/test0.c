/* The 42 subject's page-reclaim program test0 (its correction sheet counts minor page faults:
 * test/runner/page_reclaim.py). */
#include <stdlib.h>

int main(void)
{
    int i;
    char *addr;
    (void)addr;
    i = 0;
    while (i < 1024)
        i++;
    return 0;
}
