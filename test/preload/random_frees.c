/*
 * random_frees STEPS: 1024 blocks of 32 and 48 bytes; each step frees the block of a slot chosen
 * at random and allocates one of 32 or 48 bytes, chosen at random, in its place. The choices are
 * drawn before the loop, so that the program's own branches are the loop's alone. The runner
 * (test/runner/fast_paths.py) counts callgrind's mispredicted branches per step: free's and
 * malloc's routes must not depend on which class the last malloc served.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { kSlots = 1024, kDraws = 1 << 16 };
static uint16_t g_slot[kDraws];
static uint8_t g_size[kDraws];
static char *g_block[kSlots];

int main(int argc, char **argv)
{
    long steps = argc > 1 ? atol(argv[1]) : 100000;
    uint64_t r = 88172645463325252ull;
    for (int i = 0; i < kDraws; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        g_slot[i] = (uint16_t)(r % kSlots);
        g_size[i] = (r >> 32) & 1 ? 48 : 32;
    }
    for (int i = 0; i < kSlots; i++)
        g_block[i] = malloc(i & 1 ? 48 : 32);
    for (long s = 0; s < steps; s++) {
        unsigned k = g_slot[s & (kDraws - 1)];
        free(g_block[k]);
        g_block[k] = malloc(g_size[s & (kDraws - 1)]);
        if (!g_block[k])
            return 1;
        g_block[k][0] = (char)s;
    }
    for (int i = 0; i < kSlots; i++)
        free(g_block[i]);
    puts("done");
    return 0;
}
