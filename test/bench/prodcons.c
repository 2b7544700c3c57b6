/* prodcons PAIRS N: PAIRS producer/consumer thread pairs. Each producer allocates N blocks of
 * 16..256 B and passes them through a bounded single-producer single-consumer ring (256 slots)
 * to its consumer, which reads and frees them: every free is a remote free. */
#include "bench_common.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RING 256

typedef struct {
    _Alignas(64) _Atomic size_t head; /* written by the consumer */
    _Alignas(64) _Atomic size_t tail; /* written by the producer */
    _Alignas(64) char *buf[RING];
    long n;
    long sum;
} ring_t;

static void backoff(unsigned *spins)
{
    if (++*spins > 64) {
        sched_yield();
        *spins = 0;
    } else {
        __builtin_ia32_pause();
    }
}

/* Each side keeps a private copy of the other's index and rereads the shared one only when the
 * copy says the ring is full (producer) or empty (consumer), so that the queue itself costs few
 * cache-line transfers and the allocator's remote frees dominate. */
static void *producer(void *arg)
{
    ring_t *q = arg;
    bench_rng r = {(uint64_t)(uintptr_t)q};
    size_t tail = 0, head_seen = 0;
    for (long i = 0; i < q->n; i++) {
        size_t sz = bench_range(&r, 16, 256);
        char *p = malloc(sz);
        if (!p)
            abort();
        p[0] = (char)i;
        p[sz - 1] = (char)i;
        unsigned spins = 0;
        while (tail - head_seen >= RING) {
            head_seen = atomic_load_explicit(&q->head, memory_order_acquire);
            if (tail - head_seen >= RING)
                backoff(&spins);
        }
        q->buf[tail % RING] = p;
        atomic_store_explicit(&q->tail, ++tail, memory_order_release);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    ring_t *q = arg;
    long sum = 0;
    size_t head = 0, tail_seen = 0;
    for (long i = 0; i < q->n; i++) {
        unsigned spins = 0;
        while (head == tail_seen) {
            tail_seen = atomic_load_explicit(&q->tail, memory_order_acquire);
            if (head == tail_seen)
                backoff(&spins);
        }
        char *p = q->buf[head % RING];
        sum += p[0];
        free(p);
        /* publish progress in batches of 16 so the producer is not woken for every block */
        if ((++head & 15) == 0 || head == tail_seen)
            atomic_store_explicit(&q->head, head, memory_order_release);
    }
    q->sum = sum;
    return NULL;
}

int main(int argc, char **argv)
{
    long pairs = bench_arg(argc, argv, 1, 1), n = bench_arg(argc, argv, 2, 1000000);
    if (pairs < 1)
        pairs = 1;
    ring_t *q = aligned_alloc(64, sizeof(ring_t) * (size_t)pairs);
    pthread_t *th = calloc((size_t)pairs * 2, sizeof *th);
    memset(q, 0, sizeof(ring_t) * (size_t)pairs);
    for (long i = 0; i < pairs; i++) {
        q[i].n = n;
        if (pthread_create(&th[2 * i], NULL, producer, &q[i]) ||
            pthread_create(&th[2 * i + 1], NULL, consumer, &q[i]))
            return 1;
    }
    for (long i = 0; i < 2 * pairs; i++)
        pthread_join(th[i], NULL);
    printf("ops=%ld\n", pairs * n);
    free(th);
    free(q);
    return 0;
}
