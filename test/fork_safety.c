/*
 * fork() must never hang, and its child must be able to allocate:
 *   - from a signal handler that interrupts the program inside malloc or free (crash reporters
 *     fork a child to write their report);
 *   - against stdio's locks: getline() reallocating while it holds its stream's lock, fflush(NULL)
 *     holding the list of streams, other threads allocating;
 *   - while other threads allocate from the zones they own, changing them without the heap lock.
 * Children that allocate check what they get: every block's bytes, no address twice, ft_malloc_check().
 * A hang is caught by the runner's time limit. FT_TEST_SCALE multiplies the fork counts.
 * Built statically (-static) and as a plain program run under LD_PRELOAD too.
 */
#include "common.h"

#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

/* What a crash reporter's child does before _exit: allocate, write, reallocate, free, across the
 * three kinds. Exits 0 when every block held what was written, 3 otherwise. */
static void child_work(void)
{
    static const size_t sizes[] = {1, 16, 100, 1000, 5000, 70000, 300000};
    char *blocks[sizeof sizes / sizeof sizes[0]];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        blocks[k] = malloc(sizes[k]);
        if (!blocks[k])
            _exit(2);
        memset(blocks[k], (int)k + 1, sizes[k]);
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        blocks[k] = realloc(blocks[k], sizes[k] * 2);
        if (!blocks[k])
            _exit(2);
        for (size_t i = 0; i < sizes[k]; i += 97)
            if (blocks[k][i] != (char)(k + 1))
                _exit(3);
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
        free(blocks[k]);
    void *a = calloc(10, 100);
    void *b = NULL;
    if (!a || posix_memalign(&b, 4096, 100) != 0)
        _exit(2);
    free(a);
    free(b);
    _exit(0);
}

/* ---- a child that checks the zones it inherits ------------------------------------------------ */

/* The parent's threads take 200 blocks of these classes and free them, without a pause: a cache's
 * stack runs dry and overflows every round, so a thread is nearly always inside its fast paths or
 * a zone's take or give, which a zone's owner does without the heap lock. A fork lands there. */
enum { kChurnBlocks = 200 };
static const size_t churn_sizes[] = {16, 48, 16, 320};

static void churn_round(void)
{
    void *held[kChurnBlocks];
    for (int i = 0; i < kChurnBlocks; i++) {
        held[i] = malloc(churn_sizes[i % 4]);
        CHECK(held[i] != NULL, "malloc failed");
    }
    for (int i = 0; i < kChurnBlocks; i++)
        free(held[i]);
}

static int compare_addresses(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* The child takes blocks of the parent threads' classes until it is using their zones (given
 * back by the fork handler), fills each with its own byte and checks them all afterwards: two
 * blocks handed out over each other, or a zone's count gone wrong, show as a changed byte, a
 * repeated address, or the heap check's complaint. Exit 0 when all is well. */
static void churn_child(void)
{
    enum { kBlocks = 6000 };
    static uintptr_t blocks[kBlocks];
    for (int i = 0; i < kBlocks; i++) {
        size_t n = churn_sizes[i % 4];
        unsigned char *p = malloc(n);
        if (!p)
            _exit(2);
        memset(p, i & 0xFF, n);
        blocks[i] = (uintptr_t)p;
    }
    for (int i = 0; i < kBlocks; i++)
        for (size_t k = 0; k < churn_sizes[i % 4]; k += 7)
            if (((unsigned char *)blocks[i])[k] != (i & 0xFF))
                _exit(3);
    qsort(blocks, kBlocks, sizeof blocks[0], compare_addresses);
    for (int i = 1; i < kBlocks; i++)
        if (blocks[i] == blocks[i - 1])
            _exit(4);
#if HAVE_FT
    if (ft_malloc_check() != 0)
        _exit(5);
#endif
    _exit(0);
}

/* ---- fork from a signal handler, single-threaded ------------------------------------------- */

static volatile sig_atomic_t g_forks, g_bad_children;
/* What the handler's child does before _exit. */
static void (*g_child)(void) = child_work;

/* One shot, re-armed at the end of each handler: a fork and its wait outlast any fixed period,
 * and a periodic timer would then starve the main code it is meant to interrupt. */
static void arm_timer(void)
{
    struct itimerval it = {{0, 0}, {0, 150}};
    setitimer(ITIMER_REAL, &it, NULL);
}

static void on_timer(int sig)
{
    (void)sig;
    int saved = errno;
    pid_t pid = fork();
    if (pid == 0)
        g_child();
    if (pid > 0) {
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            g_bad_children++;
        g_forks++;
    }
    arm_timer();
    errno = saved;
}

/* The main code allocates and frees without a pause, so the timer lands inside malloc, free and
 * realloc (and inside their locked sections: LARGE blocks always, every call with
 * FT_MALLOC_TCACHE=0); the blocks it holds are checked so that the parent's heap is shown intact. */
static void start_forking_timer(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_timer;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    arm_timer();
}

static void fork_from_handler(long target)
{
    start_forking_timer();
    enum { kSlots = 64 };
    unsigned char *held[kSlots] = {0};
    size_t sizes[kSlots] = {0};
    uint64_t x = 88172645463325252ull;
    for (long round = 0; g_forks < target; round++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        unsigned k = (unsigned)(x % kSlots);
        if (held[k]) {
            for (size_t i = 0; i < sizes[k]; i += 61)
                CHECK(held[k][i] == (unsigned char)k, "block %u changed under the parent", k);
            if (x & 0x100) {
                free(held[k]);
                held[k] = NULL;
                continue;
            }
            size_t n = sizes[k] + 1 + (size_t)(x >> 40) % 3000;
            unsigned char *q = realloc(held[k], n);
            CHECK(q != NULL, "realloc failed");
            memset(q, (int)k, n);
            held[k] = q, sizes[k] = n;
            continue;
        }
        size_t n = (x >> 20) % 8 == 0 ? 150000 + (size_t)(x >> 44) % 100000 : 1 + (size_t)(x >> 44) % 2000;
        held[k] = malloc(n);
        CHECK(held[k] != NULL, "malloc failed");
        memset(held[k], (int)k, n);
        sizes[k] = n;
    }
    signal(SIGALRM, SIG_IGN);
    for (unsigned k = 0; k < kSlots; k++)
        free(held[k]);
    CHECK(g_bad_children == 0, "%d of %d children could not allocate (exit status != 0)", (int)g_bad_children,
          (int)g_forks);
    printf("forks=%d\n", (int)g_forks);
}

TEST(signal_fork_single_thread) { fork_from_handler(2000 * test_scale()); }

/* The timer lands in the thread cache's own paths (no lock: a stack halfway through a push or a
 * pop, a zone between a bitmap store and its counts), and each child checks thousands of blocks of
 * the classes the parent was churning. */
TEST(signal_fork_inside_fast_paths)
{
    g_child = churn_child;
    start_forking_timer();
    long target = 1000 * test_scale();
    while (g_forks < target)
        churn_round();
    signal(SIGALRM, SIG_IGN);
    CHECK(g_bad_children == 0, "%d of %d children found their heap damaged (exit 3: a block changed, 4: one "
          "handed out twice, 5: the heap check failed; run it by hand for the status)", (int)g_bad_children,
          (int)g_forks);
    printf("forks=%d\n", (int)g_forks);
}

/* ---- fork against stdio's locks -------------------------------------------------------------- */

static volatile int g_stop;
static char g_path[64];

/* getline() reallocates its buffer while it holds the stream's lock: lines that grow, a buffer
 * freed after each, so that every line is a malloc or a realloc under that lock. */
static void *reader(void *arg)
{
    (void)arg;
    while (!g_stop) {
        FILE *f = fopen(g_path, "r");
        if (!f)
            continue;
        char *line = NULL;
        size_t cap = 0;
        while (getline(&line, &cap, f) > 0) {
            free(line);
            line = NULL, cap = 0;
        }
        free(line);
        fclose(f);
    }
    return NULL;
}

/* fflush(NULL) takes the list of streams, then each stream's lock. */
static void *flusher(void *arg)
{
    (void)arg;
    for (unsigned i = 0; !g_stop; i++) {
        fflush(NULL);
        if (i % 256 == 0)
            usleep(50);
    }
    return NULL;
}

static void *allocator(void *arg)
{
    (void)arg;
    void *held[32] = {0};
    for (unsigned i = 0; !g_stop; i++) {
        free(held[i % 32]);
        held[i % 32] = malloc(1 + i % 3000);
        /* A pause now and then: a loop that never leaves user space takes a whole core of the
         * two a CI machine has, and the forks (the test) would wait for the scheduler. */
        if (i % 1024 == 0)
            usleep(50);
    }
    for (unsigned i = 0; i < 32; i++)
        free(held[i]);
    return NULL;
}

TEST(fork_against_stdio)
{
    snprintf(g_path, sizeof g_path, "/tmp/ft_fork_stdio_%d.txt", (int)getpid());
    FILE *f = fopen(g_path, "w");
    CHECK(f != NULL, "cannot write %s", g_path);
    /* Lines up to 40 KiB: getline's buffer grows through SMALL classes beyond the thread cache,
     * so its reallocs take the heap lock while the stream's lock is held. */
    for (int i = 0; i < 60; i++) {
        for (int k = 0; k < (i * 977) % 40000 + 1; k++)
            fputc('a' + k % 26, f);
        fputc('\n', f);
    }
    fclose(f);
    pthread_t t[3];
    void *(*fns[3])(void *) = {reader, flusher, allocator};
    for (int i = 0; i < 3; i++)
        CHECK(pthread_create(&t[i], NULL, fns[i], NULL) == 0, "pthread_create");
    long target = 2000 * test_scale(), bad = 0;
    for (long i = 0; i < target; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork failed: %s", strerror(errno));
        if (pid == 0)
            child_work();
        int st;
        CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            bad++;
    }
    g_stop = 1;
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    unlink(g_path);
    CHECK(bad == 0, "%ld of %ld children could not allocate", bad, target);
    printf("forks=%ld\n", target);
}

/* The main thread's signal handler forks while other threads allocate (and hold the heap lock
 * when the signal comes). Not with stdio threads as well: a handler that interrupted its own
 * thread inside the heap lock cannot take part in fork()'s lock order, and fork() then waits for
 * a stdio lock whose holder waits for that heap lock (README.md, "fork"; glibc's malloc hangs
 * there too). */
TEST(signal_fork_with_threads)
{
    pthread_t t[2];
    void *(*fns[2])(void *) = {allocator, allocator};
    /* The timer's signal must reach the main thread, the one that allocates without a pause. */
    sigset_t alarm_set;
    sigemptyset(&alarm_set);
    sigaddset(&alarm_set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm_set, NULL);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, fns[i], NULL) == 0, "pthread_create");
    pthread_sigmask(SIG_UNBLOCK, &alarm_set, NULL);
    fork_from_handler(1000 * test_scale());
    g_stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
}

/* ---- fork while other threads allocate from their own zones ---------------------------------- */

/* In the child the churning threads do not exist: their zones go back to the pool, perhaps
 * halfway through a change. */
/* One block each churner keeps for the whole test, of a churned class: a fork child frees them
 * first, so that the zones of the parent's threads go to the pool (tcache::give_up_orphans)
 * before the child's own blocks are checked against them. */
static void *volatile g_kept[4];

static void *churner(void *arg)
{
    intptr_t k = (intptr_t)arg;
    g_kept[k] = malloc(churn_sizes[k]);
    CHECK(g_kept[k] != NULL, "malloc failed");
    while (!g_stop)
        churn_round();
    return NULL;
}

TEST(fork_while_threads_allocate)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, churner, (void *)(intptr_t)i) == 0, "pthread_create");
    while (!g_kept[0] || !g_kept[1] || !g_kept[2] || !g_kept[3])
        usleep(100);
    long target = 1000 * test_scale(), bad = 0;
    int first_status = 0;
    for (long i = 0; i < target; i++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork failed: %s", strerror(errno));
        if (pid == 0) {
            for (int k = 0; k < 4; k++)
                free(g_kept[k]);
            churn_child();
        }
        int st;
        CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (!bad)
                first_status = st;
            bad++;
        }
    }
    g_stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int k = 0; k < 4; k++)
        free(g_kept[k]);
    CHECK(bad == 0, "%ld of %ld children found their heap damaged (first: %s %d; exit 3: a block changed, 4: one "
          "handed out twice, 5: the heap check failed)", bad, target, WIFSIGNALED(first_status) ? "signal" : "exit",
          WIFSIGNALED(first_status) ? WTERMSIG(first_status) : WEXITSTATUS(first_status));
    printf("forks=%ld\n", target);
}

/* ---- what a fork child copies --------------------------------------------------------------- */

/* A process forks outside the allocator: the forking thread's heap is consistent, and the child
 * must not write it (each page written is one the kernel copies for the child). The child of a
 * process holding 20,000 blocks reports its page faults since the fork, then allocates and checks
 * what it gets, as the other children do. One thread: glibc's child 16, ft_malloc's 173 when its
 * fork handler recounted and gave back every zone. With a second thread waiting (the forking
 * thread's zones kept, the other's left until the child frees into them): glibc 26, ft_malloc
 * 186 then. */
static pthread_mutex_t g_idle_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_idle_wake = PTHREAD_COND_INITIALIZER;
static int g_idle_ready, g_idle_done;
enum { kHeldBlocks = 20000 };
static void *g_thread_held[kHeldBlocks];
static int g_thread_blocks;

/* Takes g_thread_blocks blocks (and frees 100 of its own first), then waits for the end. */
static void *idle_thread(void *arg)
{
    (void)arg;
    void *mine[100];
    for (int i = 0; i < 100; i++)
        mine[i] = malloc(64);
    for (int i = 0; i < 100; i++)
        free(mine[i]);
    for (int i = 0; i < g_thread_blocks; i++) {
        g_thread_held[i] = malloc(16 + (size_t)(i * 41) % 2000);
        if (g_thread_held[i])
            memset(g_thread_held[i], 2, 16);
    }
    pthread_mutex_lock(&g_idle_lock);
    g_idle_ready = 1;
    pthread_cond_broadcast(&g_idle_wake);
    while (!g_idle_done)
        pthread_cond_wait(&g_idle_wake, &g_idle_lock);
    pthread_mutex_unlock(&g_idle_lock);
    for (int i = 0; i < g_thread_blocks; i++)
        free(g_thread_held[i]);
    return NULL;
}

static void fork_child_copies_few_pages(int with_thread, int thread_blocks, long bound)
{
    static void *held[kHeldBlocks];
    pthread_t t;
    g_thread_blocks = thread_blocks;
    if (with_thread) {
        CHECK(pthread_create(&t, NULL, idle_thread, NULL) == 0, "pthread_create");
        pthread_mutex_lock(&g_idle_lock);
        while (!g_idle_ready)
            pthread_cond_wait(&g_idle_wake, &g_idle_lock);
        pthread_mutex_unlock(&g_idle_lock);
    }
    for (int i = 0; i < kHeldBlocks; i++) {
        held[i] = malloc(16 + (size_t)(i * 37) % 2000);
        CHECK(held[i] != NULL, "malloc failed");
        memset(held[i], 1, 16);
    }
    int fds[2];
    CHECK(pipe(fds) == 0, "pipe");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed: %s", strerror(errno));
    if (pid == 0) {
        struct rusage u;
        getrusage(RUSAGE_SELF, &u);
        long faults = u.ru_minflt;
        if (write(fds[1], &faults, sizeof faults) != (ssize_t)sizeof faults)
            _exit(6);
        /* Frees into the other thread's zones first: they go to the pool then (the child's
         * first free into one), and the blocks checked below come from them. */
        for (int i = 0; i < thread_blocks; i += 2)
            free(g_thread_held[i]);
        for (int i = 1; i < thread_blocks; i += 2)
            if (((unsigned char *)g_thread_held[i])[0] != 2)
                _exit(7);
        churn_child();
    }
    long faults = -1;
    CHECK(read(fds[0], &faults, sizeof faults) == (ssize_t)sizeof faults, "the child wrote nothing");
    int st;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child found its heap damaged (status %d)", st);
    CHECK(faults >= 0 && faults <= bound, "the child took %ld page faults before its first instruction", faults);
    if (with_thread) {
        pthread_mutex_lock(&g_idle_lock);
        g_idle_done = 1;
        pthread_cond_broadcast(&g_idle_wake);
        pthread_mutex_unlock(&g_idle_lock);
        pthread_join(t, NULL);
    }
    for (int i = 0; i < kHeldBlocks; i++)
        free(held[i]);
    close(fds[0]);
    close(fds[1]);
}

TEST(fork_child_copies_few_pages) { fork_child_copies_few_pages(0, 0, 40); }
TEST(fork_child_of_threads_copies_few_pages) { fork_child_copies_few_pages(1, 0, 60); }
/* The other thread holds 20,000 blocks too: its zones stay as they are until the child first frees
 * into one of them (tcache::give_up_orphans). Recounted and given back at the fork: 332 faults. */
TEST(fork_child_of_busy_threads_copies_few_pages) { fork_child_copies_few_pages(1, kHeldBlocks, 60); }

/* The zones of the parent's other threads wait, in the child, until it first needs them
 * (tcache::give_up_orphans). Whatever the child does first must find them handed over and
 * consistent: read the whole heap (the heap check, the statistics), trim, fork again, or start
 * threads that free the parent threads' blocks while allocating. Each child then checks every
 * block the parent's threads still hold, and the heap. */
enum { kHolders = 3, kHolderBlocks = 6000 };
static unsigned char *g_holder_block[kHolders][kHolderBlocks];
static size_t g_holder_size[kHolders][kHolderBlocks];
static pthread_barrier_t g_holders_ready, g_holders_done;

static void *holder_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 0; i < kHolderBlocks; i++) {
        g_holder_size[t][i] = 16 + (size_t)(i * 37 + t) % 3000;
        g_holder_block[t][i] = malloc(g_holder_size[t][i]);
        if (g_holder_block[t][i])
            memset(g_holder_block[t][i], t + 1, g_holder_size[t][i]);
    }
    for (int i = 0; i < kHolderBlocks; i += 3) {
        free(g_holder_block[t][i]);
        g_holder_block[t][i] = NULL;
    }
    pthread_barrier_wait(&g_holders_ready);
    pthread_barrier_wait(&g_holders_done);
    return NULL;
}

static int holders_intact(void)
{
    for (int t = 0; t < kHolders; t++)
        for (int i = 0; i < kHolderBlocks; i++)
            if (g_holder_block[t][i])
                for (size_t k = 0; k < g_holder_size[t][i]; k += 61)
                    if (g_holder_block[t][i][k] != t + 1)
                        return 0;
    return 1;
}

/* In the child: frees a third of holder t's blocks and allocates and frees 10,000 of its own. */
static void *child_thread(void *arg)
{
    int t = (int)(intptr_t)arg;
    for (int i = 1; i < kHolderBlocks; i += 3) {
        free(g_holder_block[t][i]);
        g_holder_block[t][i] = NULL;
    }
    static __thread void *mine[2000];
    for (int r = 0; r < 5; r++) {
        for (int i = 0; i < 2000; i++) {
            mine[i] = malloc(16 + (size_t)(i * 13) % 3000);
            if (mine[i])
                memset(mine[i], 9, 16);
        }
        for (int i = 0; i < 2000; i++)
            free(mine[i]);
    }
    return NULL;
}

static int threads_free_and_check(void)
{
    pthread_t w[kHolders];
    for (int t = 0; t < kHolders; t++)
        if (pthread_create(&w[t], NULL, child_thread, (void *)(intptr_t)t) != 0)
            return 30;
    for (int t = 0; t < kHolders; t++)
        pthread_join(w[t], NULL);
    if (!holders_intact())
        return 31;
#if HAVE_FT
    if (ft_malloc_check() != 0)
        return 32;
#endif
    return 0;
}

static int child_first(int what)
{
    alarm(30); /* a loop in the allocator: the alarm kills the child */
    switch (what) {
#if HAVE_FT
    case 0:
        if (ft_malloc_check() != 0)
            return 10;
        break;
#endif
    case 1: {
        struct mallinfo2 m = mallinfo2();
        if (m.uordblks == 0)
            return 11;
        break;
    }
    case 2:
        malloc_trim(0);
        break;
    case 3: {
        pid_t g = fork();
        if (g == 0)
            _exit(threads_free_and_check());
        int st;
        if (g < 0 || waitpid(g, &st, 0) != g || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 12;
        break;
    }
    default:
        break;
    }
    return threads_free_and_check();
}

TEST(fork_child_reads_and_forks_before_taking_zones)
{
    CHECK(pthread_barrier_init(&g_holders_ready, NULL, kHolders + 1) == 0, "barrier");
    CHECK(pthread_barrier_init(&g_holders_done, NULL, kHolders + 1) == 0, "barrier");
    pthread_t t[kHolders];
    for (int i = 0; i < kHolders; i++)
        CHECK(pthread_create(&t[i], NULL, holder_thread, (void *)(intptr_t)i) == 0, "pthread_create");
    pthread_barrier_wait(&g_holders_ready);
    int bad = 0, first_bad = 0, first_status = 0;
    for (int round = 0; round < 25; round++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork failed: %s", strerror(errno));
        if (pid == 0)
            _exit(child_first(round % 5));
        int st;
        CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            if (!bad++) {
                first_bad = round % 5;
                first_status = st;
            }
        }
    }
    pthread_barrier_wait(&g_holders_done);
    for (int i = 0; i < kHolders; i++)
        pthread_join(t[i], NULL);
    CHECK(bad == 0, "%d of 25 children failed (first: what %d first, %s %d; 10-12: the first step, 30-32: the "
          "threads, the parent threads' blocks, the heap check)", bad, first_bad,
          WIFSIGNALED(first_status) ? "signal" : "exit",
          WIFSIGNALED(first_status) ? WTERMSIG(first_status) : WEXITSTATUS(first_status));
}

static const test_case cases[] = {
    CASE(fork_child_copies_few_pages),
    CASE(fork_child_of_threads_copies_few_pages),
    CASE(fork_child_of_busy_threads_copies_few_pages),
    CASE(fork_child_reads_and_forks_before_taking_zones),
    CASE(signal_fork_single_thread),
    CASE(signal_fork_inside_fast_paths),
    CASE(fork_against_stdio),
    CASE(signal_fork_with_threads),
    CASE(fork_while_threads_allocate),
};

RUN_CASES(cases)
