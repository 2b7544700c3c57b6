"""Threads handing heap objects to each other through queues (run with and without LD_PRELOAD of
ft_malloc: the output must match). Objects are built in one thread and dropped in another, so
blocks are freed by other threads than the ones that allocated them."""
import hashlib
import queue
import threading
from concurrent.futures import ThreadPoolExecutor


def producer(seed, q, n):
    s = seed
    for i in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        obj = {"id": i, "seed": seed, "words": ["w%d" % (s >> k & 1023) for k in range(0, 40, 4)],
               "blob": bytes((s >> 8) & 0xFF for _ in range(s % 700)), "text": "x" * (s % 3000)}
        q.put(obj)
    q.put(None)


def consumer(q, out, idx, producers):
    h = hashlib.sha256()
    done = 0
    count = 0
    while done < producers:
        obj = q.get()
        if obj is None:
            done += 1
            continue
        h.update(repr(sorted(obj["words"])).encode())
        h.update(obj["blob"])
        h.update(str(len(obj["text"])).encode())
        count += 1
    out[idx] = (count, h.hexdigest()[:16])


def main():
    results = []
    for rnd in range(3):
        qs = [queue.Queue(maxsize=200) for _ in range(2)]
        out = [None, None]
        threads = []
        for c in range(2):
            threads.append(threading.Thread(target=consumer, args=(qs[c], out, c, 2)))
            for p in range(2):
                threads.append(threading.Thread(target=producer, args=(rnd * 100 + c * 10 + p + 1, qs[c], 4000)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Per-consumer digests depend on how the two producers interleave: report counts, and an
        # order-independent digest below.
        results.append(sorted(c for c, _ in out))

    def work(k):
        d = {}
        for i in range(20000):
            d.setdefault(i % (k + 7), []).append(("%d-%d" % (k, i)) * (i % 5))
        return sum(len(v) for v in d.values()), sum(len(s) for v in d.values() for s in v)

    with ThreadPoolExecutor(max_workers=6) as ex:
        pooled = list(ex.map(work, range(12)))

    lock = threading.Lock()
    shared = []

    def appender(k):
        local = [bytearray(k % 97 + i % 300) for i in range(3000)]
        with lock:
            shared.extend(len(b) for b in local)

    ts = [threading.Thread(target=appender, args=(k,)) for k in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("rounds", results)
    print("pool", pooled)
    print("shared", len(shared), sum(shared))


main()
