/* A program with a known heap at exit (run under ft_heap: --dump, --ex, --stats, --leaks, --svg,
 * --json, --out). It keeps 3 strdup'ed names (18 B each, one call site), a 4000 B block and a
 * LARGE block of 150000 B (filled with 'L'); a calloc'ed table and a LARGE block of 300000 B
 * are freed. Between the names sit TINY blocks of the same
 * class that are freed, so no two kept blocks are neighbours.
 *
 * stdout: "BLOCK <ptr> <size>" for each block kept, "FREED <ptr> <size>" for each block freed,
 * "PID <pid>", framed by a start and a done line. stderr: one line of its own.
 * `known_heap N` returns N from main (exit handlers run: the reports at exit are written). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "say.h"

static char *names[3];

int main(int argc, char **argv)
{
    void *spacer[3];
    say(1, "known_heap: start\n");
    for (int i = 0; i < 3; i++) {
        names[i] = strdup("a name that leaks");
        spacer[i] = malloc(18);
        if (!names[i] || !spacer[i])
            return 1;
    }
    for (int i = 0; i < 3; i++)
        free(spacer[i]);
    char *buf = malloc(4000);
    int *table = calloc(100, sizeof *table);
    char *big = malloc(300000);
    char *kept = malloc(150000);
    if (!buf || !table || !big || !kept)
        return 1;
    memset(buf, 'b', 4000);
    memset(big, 1, 300000);
    memset(kept, 'L', 150000);
    for (int i = 0; i < 3; i++)
        say(1, "BLOCK %p %zu\n", (void *)names[i], strlen(names[i]) + 1);
    say(1, "BLOCK %p %d\n", (void *)buf, 4000);
    say(1, "BLOCK %p %d\n", (void *)kept, 150000);
    say(1, "FREED %p %zu\n", (void *)table, 100 * sizeof *table);
    say(1, "FREED %p %d\n", (void *)big, 300000);
    free(table);
    free(big);
    say(1, "PID %d\n", (int)getpid());
    say(2, "known_heap: a line of its own on stderr\n");
    say(1, "known_heap: done\n");
    return argc > 1 ? atoi(argv[1]) : 0;
}
