"""Heap-heavy Python workload for the allocator benchmark: run as `python3 heap.py SCALE`.

The driver runs it with PYTHONMALLOC=malloc, so that every object, small ones included, comes
from the allocator under test instead of Python's own pymalloc arenas."""
import json
import random
import sys


def main(scale):
    rnd = random.Random(1)
    total = 0
    for _ in range(scale):
        # many small objects: dicts of short strings and lists, built and dropped
        recs = [{"id": i, "name": "user%d" % i, "tags": [str(rnd.random())[:6] for _ in range(4)]}
                for i in range(20000)]
        index = {r["name"]: r for r in recs}
        recs.sort(key=lambda r: r["tags"][0])
        text = json.dumps(recs[:5000])
        back = json.loads(text)
        total += len(index) + len(back) + len(text)
        # growing strings and lists (realloc paths)
        parts = []
        s = ""
        for i in range(5000):
            s += "x%d," % i
            parts.append(s[-8:])
        total += len("".join(parts))
        # a set and a dict churned: inserts and deletes
        live = {}
        for i in range(40000):
            live[i] = (i, str(i))
            if i % 3 == 0:
                live.pop(rnd.randrange(i + 1), None)
        total += len(live)
        del recs, index, back, parts, live
    print("checksum=%d" % total)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
