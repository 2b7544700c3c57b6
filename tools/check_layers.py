#!/usr/bin/env python3
"""make check-layers: every include in the allocator runs down its layers.

The layer order is read from src/README.md (the line "Layers, bottom to top: a, b, c"), so the
rule is written once. Each folder under src/, and show_alloc_mem/, is a layer; tools/ and test/
are above them all. For every #include "..." of a source file in a layer, the included file's
folder (its first path component) must be a layer at or below the includer's. Reported, with the
file and the line:
  - an include that runs upward;
  - an include without a folder ("zone.h"), or of a folder that is not a layer;
  - an include of one of ours in angle brackets (<zone/zone.h>, which -Isrc finds); a path is
    normalised first ("zone/../api/x.h" is api/x.h);
  - a source file loose in src/, or a folder under src/ missing from the order;
  - a circle between folders (which, with one order, an upward include always closes: reported
    as such too, so that the message says which folders go round).
Exit status 0 when everything holds, 1 with one line per problem otherwise.

    python3 tools/check_layers.py [ROOT]
"""
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+(?:"([^"]+)"|<([^>]+)>)')
SOURCE_EXT = (".h", ".hpp", ".cpp", ".cc", ".c")


def layer_order(root):
    path = os.path.join(root, "src", "README.md")
    with open(path) as f:
        for line in f:
            m = re.match(r"^Layers, bottom to top:\s*(.+?)\s*$", line)
            if m:
                return [x.strip() for x in m.group(1).split(",") if x.strip()]
    raise SystemExit("check-layers: no line 'Layers, bottom to top: ...' in %s" % path)


def layer_dirs(root, order):
    """layer name -> directory (relative to root)."""
    return {name: ("show_alloc_mem" if name == "show_alloc_mem" else os.path.join("src", name)) for name in order}


def sources(root, rel_dir):
    base = os.path.join(root, rel_dir)
    for dirpath, _, files in os.walk(base):
        for f in sorted(files):
            if f.endswith(SOURCE_EXT):
                yield os.path.relpath(os.path.join(dirpath, f), root)


def main(argv):
    root = os.path.abspath(argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    order = layer_order(root)
    rank = {name: i for i, name in enumerate(order)}
    dirs = layer_dirs(root, order)
    problems = []

    src = os.path.join(root, "src")
    for entry in sorted(os.listdir(src)):
        full = os.path.join(src, entry)
        if os.path.isfile(full) and entry.endswith(SOURCE_EXT):
            problems.append("src/%s: a source file loose in src/ (every file belongs to a layer's folder)" % entry)
        elif os.path.isdir(full) and entry not in rank:
            problems.append("src/%s/: a folder that is not in src/README.md's layer order" % entry)

    edges = {}  # (from layer, to layer) -> first "file:line" that includes across
    for name in order:
        for rel in sources(root, dirs[name]):
            with open(os.path.join(root, rel), errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    where = "%s:%d" % (rel, lineno)
                    if m.group(2) is not None:
                        # <...>: a system header, unless -Isrc or -I. finds it among the layers.
                        target = os.path.normpath(m.group(2))
                        folder = target.split("/", 1)[0]
                        if folder not in rank or not os.path.exists(
                                os.path.join(root, dirs[folder], target.split("/", 1)[-1])):
                            continue
                        problems.append('%s: #include <%s> is one of ours: write "%s"' % (where, m.group(2), target))
                    else:
                        # "zone/../api/x.h" is api/x.h: the folder is the one the path ends in.
                        target = os.path.normpath(m.group(1))
                    if "/" not in target:
                        problems.append('%s: #include "%s" names no folder (write "<layer>/%s")'
                                        % (where, target, target))
                        continue
                    folder = target.split("/", 1)[0]
                    if folder not in rank:
                        problems.append('%s: #include "%s": %s/ is not a layer' % (where, target, folder))
                        continue
                    if not os.path.exists(os.path.join(root, dirs[folder], target.split("/", 1)[1])):
                        problems.append('%s: #include "%s": no such file' % (where, target))
                    if folder != name:
                        edges.setdefault((name, folder), where)
                    if rank[folder] > rank[name]:
                        problems.append('%s: #include "%s" runs upward: %s (layer %d) includes %s (layer %d)'
                                        % (where, target, name, rank[name], folder, rank[folder]))

    # Circles between folders, whatever the order says.
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
    seen, stack, reported = set(), [], set()

    def visit(node):
        seen.add(node)
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt in stack:
                cycle = stack[stack.index(nxt):] + [nxt]
                key = frozenset(cycle)
                if key not in reported:
                    reported.add(key)
                    steps = ", ".join("%s -> %s at %s" % (x, y, edges[(x, y)]) for x, y in zip(cycle, cycle[1:]))
                    problems.append("folders include each other in a circle: %s" % steps)
            elif nxt not in seen:
                visit(nxt)
        stack.pop()

    for node in sorted(graph):
        if node not in seen:
            visit(node)

    for p in problems:
        print("check-layers: " + p)
    if problems:
        print("check-layers: %d problem(s); the order is in src/README.md" % len(problems))
        return 1
    print("check-layers: %d layers, %d pairs of folders that include one another, all downward" % (len(order), len(edges)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
