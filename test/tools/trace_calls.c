/* Known calls for the call log (ft_heap --trace, --print). Every result is printed as
 * "CALL <what the log should show>" right after the call, with %p pointers (lower-case hex,
 * as --print writes them; "(nil)" for NULL, which --print writes "NULL"). First line: "PID <pid>".
 *
 *   trace_calls normal   the calls, then frees everything, exit 0
 *   trace_calls _exit    the same, then malloc(12345) and _exit(3): no exit handlers run
 *   trace_calls kill     the same, then malloc(12345) and SIGKILL to itself */
#define _GNU_SOURCE
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "say.h"

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "normal";
    say(1, "PID %d\n", (int)getpid());
    void *a = malloc(32);
    say(1, "CALL malloc(32) = %p\n", a);
    void *b = calloc(4, 100);
    say(1, "CALL calloc(4, 100) = %p\n", b);
    uintptr_t old_a = (uintptr_t)a;  /* printed after the realloc: an integer, not a pointer */
    void *c = realloc(a, 64);
    say(1, "CALL realloc(0x%" PRIxPTR ", 64) = %p\n", old_a, c);
    void *d = memalign(64, 200);
    say(1, "CALL memalign(64, 200) = %p\n", d);
    void *e = NULL;
    if (posix_memalign(&e, 128, 1000) != 0)
        return 1;
    say(1, "CALL memalign(128, 1000) = %p\n", e);
    void *f = aligned_alloc(256, 512);
    say(1, "CALL memalign(256, 512) = %p\n", f);
    uintptr_t old_b = (uintptr_t)b;
    void *g = reallocarray(b, 10, 50);
    say(1, "CALL realloc(0x%" PRIxPTR ", 500) = %p\n", old_b, g);
    void *h = malloc(200000);
    say(1, "CALL malloc(200000) = %p\n", h);
    void *v = valloc(100);
    say(1, "CALL memalign(%ld, 100) = %p\n", sysconf(_SC_PAGESIZE), v);
    void *z = malloc(24);
    say(1, "CALL malloc(24) = %p\n", z);
    uintptr_t old_z = (uintptr_t)z;
    void *zr = realloc(z, 0);  /* frees z, returns NULL */
    say(1, "CALL realloc(0x%" PRIxPTR ", 0) = %p\n", old_z, zr);
    if (!old_a || !old_b || !c || !d || !e || !f || !g || !h || !v || !old_z || zr)
        return 1;
    memset(h, 7, 200000);
    void *order[] = {c, d, e, f, g, h, v};
    for (int i = 0; i < 7; i++) {
        uintptr_t v = (uintptr_t)order[i];
        free(order[i]);
        say(1, "CALL free(0x%" PRIxPTR ")\n", v);
    }
    if (strcmp(mode, "normal") != 0) {
        void *last = malloc(12345);
        say(1, "CALL malloc(12345) = %p\n", last);
        if (strcmp(mode, "kill") == 0)
            kill(getpid(), SIGKILL);
        _exit(3);
    }
    return 0;
}
