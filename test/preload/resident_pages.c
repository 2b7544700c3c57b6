/*
 * The preloaded library's own resident pages (src/os/fault_around.h): after a run through the
 * routes programs take (every class size, calloc, realloc growth, aligned blocks, LARGE blocks,
 * frees by another thread, a thread that exits, a fork whose child allocates), prints the Rss of
 * each of the library's mappings, in the order of /proc/self/maps, as "<kB> <perms>" lines. The
 * runner (test/runner/resident_pages.py) checks that the cold text and the unwind tables, mappings
 * apart, hold no page, and the library's total.
 * `resident_pages core`: only what every program does (malloc, calloc and free in one thread,
 * every TINY and SMALL class, zones filled, emptied and given back): the warm text, a mapping
 * apart too, must hold no page either.
 * Built without ft_malloc, run with LD_PRELOAD.
 */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kSlots = 512 };
static void *g_handed[kSlots];

static void *freer(void *arg)
{
    (void)arg;
    for (int i = 0; i < kSlots; i++)
        free(g_handed[i]);
    void *mine = malloc(100); /* this thread's own cache, given back when it exits */
    free(mine);
    return NULL;
}

static void work(void)
{
    void *p[kSlots];
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < kSlots; i++) {
            size_t n = 1 + (size_t)((i * 2654435761u + round) % 70000u);
            p[i] = (i % 3 == 0) ? calloc(1, n) : malloc(n);
            memset(p[i], i, n < 64 ? n : 64);
        }
        for (int i = 0; i < kSlots; i += 2)
            p[i] = realloc(p[i], malloc_usable_size(p[i]) * 2 + 1);
        for (int i = 0; i < kSlots; i++)
            free(p[i]);
    }
    void *a = NULL;
    if (posix_memalign(&a, 4096, 5000) == 0)
        free(a);
    free(aligned_alloc(64, 640));
    for (int i = 0; i < 8; i++)
        free(malloc((size_t)(1 + i) << 20)); /* LARGE */
}

/* malloc, calloc and free only, in this thread: every class, enough blocks of the small ones to
 * fill zones, all freed (zones emptied, given back). */
static void core_work(void)
{
    static void *p[4096];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 4096; i++) {
            size_t n = (i % 8 == 0) ? 1 + (size_t)i * 31 % 131072 : 1 + (size_t)(i * 7 + round) % 256;
            p[i] = (i % 5 == 0) ? calloc(1, n) : malloc(n);
            if (!p[i])
                exit(5);
            memset(p[i], i, n < 64 ? n : 64);
        }
        for (int i = 0; i < 4096; i++)
            free(p[i]);
    }
}

/* Every common route: work(), frees by another thread, a thread that exits, a fork whose child
 * allocates, work() again. */
static int run_everything(void)
{
    work();
    for (int i = 0; i < kSlots; i++)
        g_handed[i] = malloc(16 + (size_t)(i % 64) * 16);
    pthread_t t;
    if (pthread_create(&t, NULL, freer, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 2;
    pid_t pid = fork();
    if (pid == 0) {
        work();
        _exit(0);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 3;
    work();
    return 0;
}

/* The Rss of each of the library's mappings, "<kB> <perms>" a line. */
static int print_resident(void)
{
    static char smaps[1 << 20];
    int fd = open("/proc/self/smaps", O_RDONLY);
    if (fd < 0)
        return 4;
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd, smaps + len, sizeof smaps - 1 - len)) > 0)
        len += (size_t)r;
    close(fd);
    smaps[len] = 0;
    int ours = 0;
    char perms[8] = "";
    for (char *line = smaps; *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = 0;
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3)
            ours = strstr(line, "libft_malloc") != NULL;
        else if (ours && strncmp(line, "Rss:", 4) == 0)
            printf("%ld %s\n", strtol(line + 4, NULL, 10), perms);
        if (!end)
            break;
        line = end + 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "core") == 0)
        core_work();
    else if (run_everything() != 0)
        return 2;
    return print_resident();
}
