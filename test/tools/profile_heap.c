/* A program with known allocations per call stack, for the heap profiles (--folded, --folded-alloc,
 * --pprof), the call log's charts (--massif, --timeline), --diff and --html. Each function below
 * allocates from one call site; main calls keep_small from two places (a flame graph shows one box
 * for both, pprof two stacks).
 *
 * `profile_heap [K]`: keep_small keeps K x 5 blocks from each of its two calls (default K = 1).
 * stdout: what it did, for the tests to compare with the tools' numbers:
 *   SITE <function> <live blocks> <live bytes> <allocations> <allocated bytes>
 *   GROWN <function> <from> <to>: its block was made, then grown by realloc
 *   PEAK <the most bytes live at once>, END <bytes live at exit>
 * No stdio stream (say.h): the C library allocates nothing on its behalf. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "say.h"

#define SMALL 100
#define TABLE 50
#define CHURN 40
#define CHURN_SIZE 1000
#define PEAK_BLOCKS 20
#define PEAK_SIZE 65536
#define LARGE 200000
#define GROW_FROM 150000
#define GROW_TO 600000

static void *kept[1024];
static int nkept;
static long live, peak;

static void note(long bytes)
{
    live += bytes;
    if (live > peak)
        peak = live;
}

/* noinline and a barrier after each call: every function keeps its own frame (no inlining, no
 * tail call), so the stacks are what the source says. */
#define BARRIER() __asm__ volatile("" ::: "memory")

__attribute__((noinline)) void keep_small(int n)
{
    for (int i = 0; i < n; i++) {
        kept[nkept] = malloc(SMALL);
        memset(kept[nkept++], 's', SMALL);
        note(SMALL);
    }
    BARRIER();
}

__attribute__((noinline)) void keep_table(void)
{
    kept[nkept++] = calloc(TABLE, 8);
    note(TABLE * 8);
    BARRIER();
}

__attribute__((noinline)) void churn(void)
{
    for (int i = 0; i < CHURN; i++) {
        char *p = malloc(CHURN_SIZE);
        memset(p, 'c', CHURN_SIZE);
        note(CHURN_SIZE);
        free(p);
        note(-CHURN_SIZE);
    }
    BARRIER();
}

__attribute__((noinline)) void peak_phase(void)
{
    void *p[PEAK_BLOCKS];
    for (int i = 0; i < PEAK_BLOCKS; i++) {
        p[i] = malloc(PEAK_SIZE);
        memset(p[i], 'p', PEAK_SIZE);
        note(PEAK_SIZE);
    }
    for (int i = 0; i < PEAK_BLOCKS; i++) {
        free(p[i]);
        note(-PEAK_SIZE);
    }
    BARRIER();
}

__attribute__((noinline)) void keep_large(void)
{
    kept[nkept] = malloc(LARGE);
    memset(kept[nkept++], 'L', LARGE);
    note(LARGE);
    BARRIER();
}

/* A LARGE block grown by realloc: moved by the kernel (mremap), perhaps to another address. */
__attribute__((noinline)) void grow_large(void)
{
    char *p = malloc(GROW_FROM);
    memset(p, 'g', GROW_FROM);
    note(GROW_FROM);
    p = realloc(p, GROW_TO);
    memset(p, 'G', GROW_TO);
    note(GROW_TO - GROW_FROM);
    kept[nkept++] = p;
    BARRIER();
}

int main(int argc, char **argv)
{
    int k = argc > 1 ? atoi(argv[1]) : 1;
    if (k < 1 || k > 50)
        return 2;
    keep_small(5 * k);
    BARRIER();
    keep_table();
    BARRIER();
    keep_small(5 * k);
    BARRIER();
    churn();
    BARRIER();
    peak_phase();
    BARRIER();
    keep_large();
    BARRIER();
    grow_large();
    BARRIER();
    for (int i = 0; i < nkept; i++)
        if (!kept[i])
            return 1;
    say(1, "SITE keep_small %d %d %d %d\n", 10 * k, 10 * k * SMALL, 10 * k, 10 * k * SMALL);
    say(1, "SITE keep_table 1 %d 1 %d\n", TABLE * 8, TABLE * 8);
    say(1, "SITE churn 0 0 %d %d\n", CHURN, CHURN * CHURN_SIZE);
    say(1, "SITE peak_phase 0 0 %d %d\n", PEAK_BLOCKS, PEAK_BLOCKS * PEAK_SIZE);
    say(1, "SITE keep_large 1 %d 1 %d\n", LARGE, LARGE);
    /* A realloc counts as an allocation of its new size (as in pprof and heaptrack). */
    say(1, "SITE grow_large 1 %d 2 %d\nGROWN grow_large %d %d\n", GROW_TO, GROW_FROM + GROW_TO, GROW_FROM, GROW_TO);
    say(1, "PEAK %ld\nEND %ld\n", peak, live);
    return 0;
}
