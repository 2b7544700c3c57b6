/* The threads program's fork cases: fork while other threads allocate, many forks from busy
 * threads, and the other threads' zones in the child. The case table is in test/threads.c. */
#include "threads.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>

/* ---- fork while other threads allocate without pause ---- */
static void child_work(void)
{
    rng_t r;
    rng_seed(&r, (uint64_t)getpid());
    void *p[200];
    for (int i = 0; i < 200; i++)
        p[i] = make_block(&r, (uint64_t)i, thread_size(&r));
    for (int i = 0; i < 200; i++) {
        check_block(p[i], "child");
        free(p[i]);
    }
    char *s = strdup("child");
    CHECK(s != NULL, "strdup failed in the child");
    int devnull = open("/dev/null", O_WRONLY);
    CHECK(devnull >= 0, "open /dev/null");
    fflush(stdout);
    dup2(devnull, 1);
    show_alloc_mem();
    show_alloc_mem_ex();
    free(s);
    exit(0);
}

static void wait_child(pid_t pid, int k)
{
    struct timespec ts = {0, 2000000};
    for (int waited = 0; waited < 10000; waited++) { /* about 20 s */
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        CHECK(w >= 0, "waitpid: %s", strerror(errno));
        if (w == pid) {
            if (WIFSIGNALED(st))
                FAIL("fork %d: child killed by signal %d", k, WTERMSIG(st));
            CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork %d: child exit status %d", k, WEXITSTATUS(st));
            return;
        }
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    FAIL("fork %d: child still running after 20 s (deadlock in malloc after fork?)", k);
}

TEST_EXTERN(fork_while_allocating)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, busy, (void *)(uintptr_t)(i + 1)) == 0, "pthread_create failed");
    fflush(stdout);
    for (int k = 0; k < 50; k++) {
        /* let the threads run a bit between forks */
        struct timespec ts = {0, 3000000};
        nanosleep(&ts, NULL);
        pid_t pid = fork();
        CHECK(pid >= 0, "fork failed: %s", strerror(errno));
        if (pid == 0)
            child_work();
        wait_child(pid, k);
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

/* Many forks while 4 threads allocate (more threads than cores: the fork often lands while one
 * of them is inside malloc, holding the lock or half-way through a cache refill). The blocks are
 * small: after each fork the busy threads' writes fault on copy-on-write pages, which is slow
 * here and beside the point. The child allocates from a thread of its own too, checks its heap
 * and, every tenth time, forks again. */
static size_t light_size(rng_t *r)
{
    uint64_t k = rng_below(r, 1000);
    if (k < 2)
        return FT_SMALL_MAX + 1 + rng_below(r, 50000);
    if (k < 100)
        return FT_TINY_MAX + 1 + rng_below(r, 2048);
    return sizeof(hdr) + rng_below(r, FT_TINY_MAX - sizeof(hdr) + 1);
}

static void *busy_light(void *arg)
{
    rng_t r;
    rng_seed(&r, (uint64_t)(uintptr_t)arg);
    void *mine[32] = {0};
    uint64_t id = 0;
    while (!__atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) {
        int i = (int)rng_below(&r, 32);
        if (mine[i]) {
            check_block(mine[i], "busy");
            if (rng_below(&r, 3) == 0) {
                size_t ns = light_size(&r);
                hdr h = *(hdr *)mine[i];
                void *q = realloc(mine[i], ns);
                CHECK(q != NULL, "realloc failed");
                ((hdr *)q)->size = ns;
                pattern_fill((char *)q + sizeof(hdr), ns - sizeof(hdr), h.id);
                mine[i] = q;
                continue;
            }
            free(mine[i]);
            mine[i] = NULL;
        } else {
            mine[i] = make_block(&r, id++, light_size(&r));
        }
    }
    for (int i = 0; i < 32; i++)
        free(mine[i]);
    return NULL;
}

static void *child_thread(void *arg)
{
    (void)arg;
    rng_t r;
    rng_seed(&r, (uint64_t)getpid() * 7);
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = make_block(&r, (uint64_t)i, light_size(&r));
    for (int i = 0; i < 100; i++) {
        check_block(p[i], "child thread");
        free(p[i]);
    }
    return NULL;
}

static void child_work_threads(int k)
{
    rng_t r;
    rng_seed(&r, (uint64_t)getpid());
    void *p[100];
    for (int i = 0; i < 100; i++)
        p[i] = make_block(&r, (uint64_t)i, light_size(&r));
    pthread_t t;
    CHECK(pthread_create(&t, NULL, child_thread, NULL) == 0, "pthread_create in the child failed");
    pthread_join(t, NULL);
    if (k % 10 == 0) {
        pid_t g = fork();
        CHECK(g >= 0, "fork in the child failed");
        if (g == 0) {
            void *q = malloc(1000);
            CHECK(q != NULL, "malloc in the grandchild failed");
            free(q);
            _exit(0);
        }
        int st;
        CHECK(waitpid(g, &st, 0) == g && WIFEXITED(st) && WEXITSTATUS(st) == 0, "grandchild failed");
    }
    for (int i = 0; i < 100; i++) {
        check_block(p[i], "child");
        free(p[i]);
    }
#if HAVE_FT
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() found damage in the child");
#endif
    _exit(0);
}

TEST_EXTERN(fork_many_busy_threads)
{
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, busy_light, (void *)(uintptr_t)(i + 21)) == 0, "pthread_create failed");
    fflush(stdout);
    long n = 100 * test_scale();
    for (long k = 0; k < n; k++) {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork failed: %s", strerror(errno));
        if (pid == 0)
            child_work_threads((int)k);
        wait_child(pid, (int)k);
    }
    __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
}

/* ---- fork: the parent's other threads' zones are not lost to the child ---- */
enum { ORPHAN_SIZE = 232, ORPHAN_ZONE = 64 * 1024 }; /* a TINY class few others use; TINY zones: 64 KiB, aligned */
static int orphan_ready[2], orphan_done[2];
static void *orphan_block;

static void *hold_a_zone(void *arg)
{
    (void)arg;
    void *p[10];
    for (int i = 0; i < 10; i++)
        CHECK((p[i] = malloc(ORPHAN_SIZE)) != NULL, "malloc failed");
    orphan_block = p[0];
    char c = 1;
    CHECK(write(orphan_ready[1], &c, 1) == 1, "write failed");
    CHECK(read(orphan_done[0], &c, 1) == 1, "read failed"); /* alive, with its zone, across the fork */
    for (int i = 0; i < 10; i++)
        free(p[i]);
    return NULL;
}

TEST_EXTERN(fork_child_reuses_other_threads_zones)
{
    CHECK(pipe(orphan_ready) == 0 && pipe(orphan_done) == 0, "pipe failed");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, hold_a_zone, NULL) == 0, "pthread_create failed");
    char c;
    CHECK(read(orphan_ready[0], &c, 1) == 1, "read failed");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed: %s", strerror(errno));
    if (pid == 0) {
        /* The thread that allocated from that zone does not exist here. Its free chunks must
         * still be found by the child's allocations rather than a new zone be mapped for ever. */
        uintptr_t zone = (uintptr_t)orphan_block & ~(uintptr_t)(ORPHAN_ZONE - 1);
        int inside = 0;
        for (int i = 0; i < 2000; i++) {
            void *q = malloc(ORPHAN_SIZE);
            if (!q)
                _exit(2);
            if (((uintptr_t)q & ~(uintptr_t)(ORPHAN_ZONE - 1)) == zone)
                inside++;
        }
        _exit(HAVE_FT && inside == 0 ? 3 : 0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid failed");
    CHECK(write(orphan_done[1], "x", 1) == 1, "write failed");
    pthread_join(t, NULL);
    CHECK(WIFEXITED(st), "child killed by signal %d", WTERMSIG(st));
    CHECK(WEXITSTATUS(st) != 3, "the child's 2000 blocks of %d B all avoid the zone that the parent's other thread "
          "was allocating from: its free chunks are lost to the child", ORPHAN_SIZE);
    CHECK(WEXITSTATUS(st) == 0, "child exit status %d", WEXITSTATUS(st));
}
