"""A heap-heavy Python script, run with and without LD_PRELOAD of ft_malloc: the output must match."""
import hashlib
import json
import threading
from collections import Counter, defaultdict


def build(n):
    data = {}
    for i in range(n):
        key = "item-%06d" % (i * 7919 % n)
        data[key] = {
            "id": i,
            "tags": ["t%d" % (j % 13) for j in range(i % 17)],
            "text": ("lorem ipsum %d " % i) * (i % 40),
            "nested": {"a": list(range(i % 50)), "b": {"c": str(i) * (i % 9)}},
        }
    return data


def worker(seed, out, idx):
    acc = defaultdict(list)
    s = seed
    for i in range(15000):
        s = (s * 1103515245 + 12345) & 0x7FFFFFFF
        acc[s % 997].append("x" * (s % 300))
        if len(acc) > 500 and i % 7 == 0:
            acc.pop(next(iter(acc)))
    out[idx] = sum(len(v) for v in acc.values()) + sum(len(x) for v in acc.values() for x in v)


def main():
    data = build(8000)
    blob = json.dumps(data, sort_keys=True)
    back = json.loads(blob)
    assert back == data
    print("json", len(blob), hashlib.sha256(blob.encode()).hexdigest()[:16])

    words = Counter()
    for v in back.values():
        words.update(v["text"].split())
        words.update(v["tags"])
    print("words", len(words), words.most_common(3))

    big = [bytes(range(256)) * (i % 64) for i in range(2000)]
    joined = b"".join(big)
    print("bytes", len(joined), hashlib.md5(joined).hexdigest()[:16])

    lst = []
    for i in range(100000):
        lst.append((i * 2654435761) % 1000003)
    lst.sort()
    print("sorted", lst[0], lst[-1], sum(lst[::1000]))

    s = ""
    for i in range(20000):
        s += str(i)
    print("concat", len(s))

    out = [None] * 8
    threads = [threading.Thread(target=worker, args=(i + 1, out, i)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("threads", out)


if __name__ == "__main__":
    main()
