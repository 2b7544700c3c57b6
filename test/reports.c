/*
 * Statistics and reports: glibc's mallinfo2(), malloc_trim(), mallopt(), malloc_stats(), and what
 * the environment turns on (FT_MALLOC_STATS, FT_MALLOC_DUMP, FT_MALLOC_OUT, FT_MALLOC_DUMP_SIGNAL,
 * FT_MALLOC_EVERY). run_tests.py reads what the cases print.
 *
 * Cases whose output run_tests.py compares with exact numbers (exit_reports) write with write(2)
 * only: stdio would allocate its buffer through ft_malloc and show up in the numbers.
 */
#include "common.h"

#include <pthread.h>
#include <signal.h>
#include <time.h>

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0 && write(1, buf, (size_t)n) < 0) {
    }
}

#define MB (1u << 20)

/* ---- mallinfo2 ---- */

TEST(mallinfo2_fields)
{
    long page = sysconf(_SC_PAGESIZE);
    struct mallinfo2 m0 = mallinfo2();
    /* NT: 53 zones of its class (3.4 MB), most of them freed again: more than the pool keeps
     * resident once wholly free (2 MiB) */
    enum { NT = 30000, NS = 200, NL = 7 };
    static void *t[NT], *s[NS], *l[NL];
    for (int i = 0; i < NT; i++) {
        t[i] = malloc(100);
        CHECK(t[i] != NULL, "malloc failed");
    }
    for (int i = 0; i < NS; i++) {
        s[i] = malloc(3000);
        CHECK(s[i] != NULL, "malloc failed");
    }
    for (int i = 0; i < NL; i++) {
        l[i] = malloc(300000);
        CHECK(l[i] != NULL, "malloc failed");
    }
    struct mallinfo2 m1 = mallinfo2();
    size_t chunks = NT * expected_class(100) + NS * expected_class(3000);
    CHECK(m1.uordblks >= m0.uordblks + chunks, "uordblks %zu -> %zu after allocating %zu B of chunks", m0.uordblks,
          m1.uordblks, chunks);
    CHECK(m1.uordblks <= m0.uordblks + chunks + 64 * 1024, "uordblks %zu -> %zu: grew by more than the %zu B of chunks",
          m0.uordblks, m1.uordblks, chunks);
    CHECK(m1.hblks == m0.hblks + NL, "hblks %zu -> %zu after %d LARGE blocks", m0.hblks, m1.hblks, NL);
    CHECK(m1.hblkhd >= m0.hblkhd + NL * 300000 && m1.hblkhd <= m0.hblkhd + NL * (300000 + (size_t)page),
          "hblkhd %zu -> %zu after %d LARGE blocks of 300000 B", m0.hblkhd, m1.hblkhd, NL);
    CHECK(m1.arena > 0 && m1.arena >= m1.uordblks, "arena %zu, uordblks %zu", m1.arena, m1.uordblks);
    CHECK(m1.arena >= m0.arena + chunks, "arena %zu -> %zu: less than the chunks allocated (%zu B)", m0.arena,
          m1.arena, chunks);
    CHECK(m1.fordblks == m1.arena - m1.uordblks, "fordblks %zu != arena %zu - uordblks %zu", m1.fordblks, m1.arena,
          m1.uordblks);
    CHECK(m1.usmblks >= m1.uordblks + m1.hblkhd - m0.hblkhd, "usmblks (peak) %zu below what is live now",
          m1.usmblks);
    for (int i = 0; i < NT; i++)
        free(t[i]);
    for (int i = 0; i < NS; i++)
        free(s[i]);
    for (int i = 0; i < NL; i++)
        free(l[i]);
    struct mallinfo2 m2 = mallinfo2();
    CHECK(m2.uordblks == m0.uordblks, "uordblks %zu before, %zu after freeing everything", m0.uordblks, m2.uordblks);
    CHECK(m2.hblks == m0.hblks && m2.hblkhd == m0.hblkhd, "hblks %zu -> %zu, hblkhd %zu -> %zu after freeing",
          m0.hblks, m2.hblks, m0.hblkhd, m2.hblkhd);
    /* A reserve zone per class stays, the zone this thread's cache holds chunks of, and wholly
     * free zones within the pool's budget: the rest goes. */
    CHECK(m2.arena < m1.arena, "arena %zu -> %zu: no zone given back after freeing", m1.arena, m2.arena);
    CHECK(m2.fordblks == m2.arena - m2.uordblks, "fordblks inconsistent");
    CHECK(m2.usmblks >= m1.usmblks, "usmblks (peak) fell from %zu to %zu", m1.usmblks, m2.usmblks);
    CHECK(malloc_trim(0) == 1, "malloc_trim(0) did not release the reserve zones");
    struct mallinfo2 m3 = mallinfo2();
    CHECK(m3.arena <= m0.arena, "arena %zu at the start, %zu after freeing and malloc_trim", m0.arena, m3.arena);
}

/* ---- malloc_trim ---- */

TEST(malloc_trim_after_peak)
{
    enum { N = 200000 };
    static void *p[N];
    rng_t r;
    rng_seed(&r, 5);
    long rss0 = vm_rss_kb();
    size_t total = 0;
    int n = 0;
    while (total < (100u << 20) && n < N) {
        size_t s = rng_below(&r, 2) ? 16 + rng_below(&r, 240) : 300 + rng_below(&r, 3800);
        p[n] = malloc(s);
        CHECK(p[n] != NULL, "malloc failed");
        memset(p[n], 0x3A, s);
        total += s;
        n++;
    }
    long peak = vm_rss_kb();
    CHECK(peak - rss0 > 80 * 1024, "RSS grew by only %ld kB for a 100 MB peak (test broken?)", peak - rss0);
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rng_below(&r, (uint64_t)i + 1);
        void *t = p[i];
        p[i] = p[j];
        p[j] = t;
    }
    for (int i = 0; i < n; i++)
        free(p[i]);
    long freed = vm_rss_kb();
    int t1 = malloc_trim(0);
    long trimmed = vm_rss_kb();
    CHECK(t1 == 1, "malloc_trim(0) returned %d after freeing a 100 MB peak", t1);
    CHECK(trimmed <= freed, "RSS rose from %ld to %ld kB with malloc_trim", freed, trimmed);
    CHECK(peak - trimmed >= 80 * 1024, "RSS %ld kB at the peak, %ld kB after freeing and malloc_trim(0)", peak,
          trimmed);
    CHECK(trimmed - rss0 <= 8 * 1024, "RSS %ld kB before the peak, %ld kB after freeing and malloc_trim(0)", rss0,
          trimmed);
    int t2 = malloc_trim(0);
    CHECK(t2 == 0 || t2 == 1, "malloc_trim(0) returned %d", t2);
    int t3 = malloc_trim(1 << 20);
    CHECK(t3 == 0 || t3 == 1, "malloc_trim(1 MB) returned %d", t3);
    /* The heap works after trimming. */
    void *q = malloc(1000);
    CHECK(q != NULL, "malloc after malloc_trim failed");
    memset(q, 1, 1000);
    free(q);
}

/* malloc_trim with live blocks in every zone: they keep their content. */
TEST(malloc_trim_keeps_live_blocks)
{
    enum { N = 20000 };
    static unsigned char *p[N];
    for (int i = 0; i < N; i++) {
        size_t s = (size_t)(i % 300) * 13 + 1;
        p[i] = malloc(s);
        CHECK(p[i] != NULL, "malloc failed");
        pattern_fill(p[i], s, (uint64_t)i);
    }
    for (int i = 0; i < N; i++)
        if (i % 10)
            free(p[i]);
    int t = malloc_trim(0);
    CHECK(t == 0 || t == 1, "malloc_trim(0) returned %d", t);
    for (int i = 0; i < N; i += 10)
        CHECK(pattern_check(p[i], (size_t)(i % 300) * 13 + 1, (uint64_t)i) == (size_t)-1,
              "block %d lost its content in malloc_trim", i);
    CHECK(ft_malloc_check() == 0, "ft_malloc_check() reports damage after malloc_trim");
    for (int i = 0; i < N; i += 10)
        free(p[i]);
}

/* ---- mallopt ---- */

TEST(mallopt_params)
{
    CHECK(mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1, "mallopt(M_MMAP_THRESHOLD, 256 KiB) != 1");
    CHECK(mallopt(M_TRIM_THRESHOLD, 1 << 20) == 1, "mallopt(M_TRIM_THRESHOLD) != 1");
    CHECK(mallopt(M_TOP_PAD, 0) == 1, "mallopt(M_TOP_PAD) != 1");
    CHECK(mallopt(M_MMAP_MAX, 65536) == 1, "mallopt(M_MMAP_MAX) != 1");
    CHECK(mallopt(M_ARENA_MAX, 1) == 1, "mallopt(M_ARENA_MAX) != 1");
    CHECK(mallopt(12345, 1) == 0, "mallopt(12345, 1) != 0 (unknown parameter)");
    CHECK(mallopt(-12345, 1) == 0, "mallopt(-12345, 1) != 0 (unknown parameter)");
    /* Allocation goes on as before. */
    size_t sizes[] = {1, 100, 1000, 100000, 200000, 3 * MB};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        char *p = malloc(sizes[k]);
        CHECK(p != NULL, "malloc(%zu) failed after mallopt", sizes[k]);
        memset(p, 1, sizes[k]);
        free(p);
    }
}

/* ---- malloc_stats (run_tests.py reads stderr) ---- */

/* 100 blocks of 1000 B and 3 LARGE ones held while print() runs malloc_stats(). */
static void stats_while_holding(void (*print)(void))
{
    static void *s[100];
    void *l[3];
    for (int i = 0; i < 100; i++)
        s[i] = malloc(1000);
    for (int i = 0; i < 3; i++)
        l[i] = malloc(300000);
    say("HELD 100 %zu 3 300000\n", expected_class(1000));
    print();
    for (int i = 0; i < 100; i++)
        free(s[i]);
    for (int i = 0; i < 3; i++)
        free(l[i]);
}

TEST(malloc_stats_output) { stats_while_holding(malloc_stats); }

/* malloc_stats() in a thread with a cancellation request pending prints its whole report and
 * returns; the thread acts on the request at its next cancellation point (glibc's
 * tst-malloc-stats-cancellation, BZ #22830). Its write(2) made ft_malloc's report end there. */
static pthread_barrier_t stats_gate;
static volatile int stats_returned;

static void *stats_with_cancel_pending(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&stats_gate); /* not a cancellation point: the request waits */
    malloc_stats();
    stats_returned = 1;
    pthread_testcancel();
    return NULL;
}

static void stats_in_cancelled_thread(void)
{
    pthread_t t;
    void *rv = NULL;
    CHECK(pthread_barrier_init(&stats_gate, NULL, 2) == 0, "pthread_barrier_init");
    CHECK(pthread_create(&t, NULL, stats_with_cancel_pending, NULL) == 0, "pthread_create");
    CHECK(pthread_cancel(t) == 0, "pthread_cancel");
    pthread_barrier_wait(&stats_gate);
    CHECK(pthread_join(t, &rv) == 0, "pthread_join");
    CHECK(rv == PTHREAD_CANCELED, "the thread was not cancelled");
    CHECK(stats_returned, "malloc_stats() acted on the pending cancellation: the thread never returned from it");
}

TEST(malloc_stats_cancel_pending) { stats_while_holding(stats_in_cancelled_thread); }

/* ---- reports at exit (FT_MALLOC_STATS, FT_MALLOC_DUMP, FT_MALLOC_OUT) ---- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int thread_done;

/* 1000 blocks of 48 B, 400 freed; then blocks for ever: at exit its cache's counts are pending. */
static void *stay_alive(void *arg)
{
    (void)arg;
    static void *p[1000];
    for (int i = 0; i < 1000; i++) {
        p[i] = malloc(48);
        CHECK(p[i] != NULL, "malloc failed");
        memset(p[i], 2, 48);
    }
    for (int i = 0; i < 400; i++)
        free(p[i]);
    pthread_mutex_lock(&mu);
    thread_done = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    for (;;)
        pause();
    return NULL;
}

TEST(exit_reports)
{
    static void *p[1000];
    for (int i = 0; i < 1000; i++) {
        p[i] = malloc(32);
        CHECK(p[i] != NULL, "malloc failed");
        memset(p[i], 1, 32);
    }
    for (int i = 0; i < 400; i++)
        free(p[i]);
    void *l[5];
    for (int i = 0; i < 5; i++) {
        l[i] = malloc(300000);
        CHECK(l[i] != NULL, "malloc failed");
        memset(l[i], i, 300000);
    }
    free(l[0]);
    free(l[1]);
    for (int i = 2; i < 5; i++)
        say("BLOCK %p 300000\n", l[i]);
    say("BLOCK %p 32\n", p[999]);
    pthread_t t;
    CHECK(pthread_create(&t, NULL, stay_alive, NULL) == 0, "pthread_create failed");
    pthread_mutex_lock(&mu);
    while (!thread_done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    /* return: exit() runs the reports while the thread still holds its cache */
}

/* ---- FT_MALLOC_DUMP_SIGNAL, FT_MALLOC_EVERY ---- */

/* Where the reports go: FT_MALLOC_OUT if set, else fd 2, which the case points at a memfd so that
 * it can wait for what the reporter thread writes (then copies it to the real stderr). */
static int cap_fd = -1, saved_err = -1;
static const char *out_path;

static void capture_start(void)
{
    out_path = getenv("FT_MALLOC_OUT");
    if (out_path)
        return;
    cap_fd = memfd_create("ft_err", 0);
    CHECK(cap_fd >= 0, "memfd_create: %s", strerror(errno));
    saved_err = dup(2);
    CHECK(saved_err >= 0 && dup2(cap_fd, 2) == 2, "dup2 failed");
}

/* The text written so far (into dump_buf). */
static const char *captured(void)
{
    int fd = out_path ? open(out_path, O_RDONLY) : cap_fd;
    size_t len = 0;
    if (fd >= 0) {
        for (;;) {
            ssize_t r = pread(fd, dump_buf + len, sizeof dump_buf - 1 - len, (off_t)len);
            if (r <= 0)
                break;
            len += (size_t)r;
        }
        if (out_path)
            close(fd);
    }
    dump_buf[len] = 0;
    return dump_buf;
}

static void capture_end(void)
{
    if (out_path)
        return;
    const char *t = captured();
    CHECK(dup2(saved_err, 2) == 2, "dup2 failed");
    if (write(2, t, strlen(t)) < 0) {
    }
}

static int count_of(const char *text, const char *what)
{
    int n = 0;
    for (const char *s = text; (s = strstr(s, what)) != NULL; s++)
        n++;
    return n;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

TEST(dump_signal)
{
    char *a = malloc(4242);
    char *b = malloc(300000);
    CHECK(a && b, "malloc failed");
    memset(a, 'a', 4242);
    memset(b, 'b', 300000);
    say("BLOCK %p 4242\nBLOCK %p 300000\n", (void *)a, (void *)b);
    capture_start();
    for (int round = 1; round <= 2; round++) {
        CHECK(kill(getpid(), SIGUSR1) == 0, "kill: %s", strerror(errno));
        /* The dump is written by ft_malloc's reporter thread: wait for it (at most 20 s). */
        double t0 = now_s();
        while (count_of(captured(), "Total : ") < round && now_s() - t0 < 20)
            nap_ms(10);
        /* The program goes on: it allocates between the signals. */
        for (int i = 0; i < 100; i++) {
            void *q = malloc((size_t)i * 10);
            CHECK(q != NULL, "malloc failed after the signal");
            free(q);
        }
        say("ROUND %d\n", round);
    }
    capture_end();
    free(a);
    free(b);
    say("CONTINUED\n");
}

TEST(every_summary)
{
    static void *p[1000];
    for (int i = 0; i < 1000; i++) {
        p[i] = malloc(32);
        CHECK(p[i] != NULL, "malloc failed");
    }
    capture_start();
    /* Run for 2.5 s and until two summaries came (at most 20 s), allocating meanwhile. */
    double t0 = now_s();
    int k = 0;
    while ((now_s() - t0 < 2.5 || count_of(captured(), "ft_malloc: live ") < 2) && now_s() - t0 < 20) {
        void *q = malloc((size_t)(k++ % 500) * 8);
        CHECK(q != NULL, "malloc failed");
        free(q);
        nap_ms(20);
    }
    capture_end();
    for (int i = 0; i < 1000; i++)
        free(p[i]);
    say("CONTINUED\n");
}

static const test_case cases[] = {
    CASE(mallinfo2_fields),
    CASE(malloc_trim_after_peak),
    CASE(malloc_trim_keeps_live_blocks),
    CASE(mallopt_params),
    CASE(malloc_stats_output),
    CASE(malloc_stats_cancel_pending),
    CASE(exit_reports),
    CASE(dump_signal),
    CASE(every_summary),
};

RUN_CASES(cases)
