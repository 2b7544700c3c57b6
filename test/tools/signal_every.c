/* Reports while the program runs (ft_heap --at-signal, --every).
 *
 *   signal_every signal   holds a 1234 B block and 100 blocks of 64 B, sends itself SIGUSR1,
 *                         sleeps 0.5 s, goes on ("CONTINUED"), exits 0
 *   signal_every every    holds the same blocks for 2.5 s, "CONTINUED", exits 0
 *
 * stdout: "BLOCK <ptr> <size>" for the 1234 B block. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "say.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "signal";
    static void *small[100];
    char *block = malloc(1234);
    if (!block)
        return 1;
    memset(block, 'x', 1234);
    for (int i = 0; i < 100; i++)
        if (!(small[i] = malloc(64)))
            return 1;
    say(1, "BLOCK %p 1234\n", (void *)block);
    if (strcmp(mode, "signal") == 0) {
        if (kill(getpid(), SIGUSR1) != 0)
            return 1;
        sleep_ms(500);
    } else {
        sleep_ms(2500);
    }
    say(1, "CONTINUED\n");
    for (int i = 0; i < 100; i++)
        free(small[i]);
    free(block);
    return 0;
}
