"""The heap tools: ft_heap --svg and --json.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

from runner.tools_common import (all_classes, fail, heap, parse_ex_dump, program_pid, rc_text, read, reg,
                                 run_known, with_file)


# ----------------------------------------------------------------------------------------------------
# 3. --svg

SVG_NS = "{http://www.w3.org/2000/svg}"
TITLE = re.compile(r"^0x([0-9A-F]+) (\d+) B: (.*)$")


def well_formed(path):
    """None when the XML file is well-formed, else the parser's complaint."""
    if shutil.which("xmllint"):
        p = subprocess.run(["xmllint", "--noout", path], capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            return "xmllint: " + p.stderr[:500]
    try:
        ET.parse(path)
    except ET.ParseError as e:
        return "xml.etree: %s" % e
    return None


def svg_bands(root):
    """[(label text, [(start, bytes, description)])] for each band (top-level <g>) in order."""
    bands = []
    for g in root.findall(SVG_NS + "g"):
        label = g.find(SVG_NS + "text")
        cells = []
        for path in g.findall(SVG_NS + "path"):
            t = path.find(SVG_NS + "title")
            m = TITLE.match(t.text or "") if t is not None else None
            if m:
                cells.append((int(m.group(1), 16), int(m.group(2)), m.group(3)))
        bands.append(("" if label is None else "".join(label.itertext()), cells))
    return bands


SVG_SUMMARY = re.compile(r"live (\d+) B in (\d+) blocks; zones: (\d+) TINY, (\d+) SMALL, (\d+) LARGE; (\d+) B mapped")


def svg_summary(root):
    for t in root.iter(SVG_NS + "text"):
        m = SVG_SUMMARY.search("".join(t.itertext()))
        if m:
            return [int(x) for x in m.groups()]
    return None


def svg_label_used(label):
    """Live blocks a band's label announces: "U/N used" (zones) or "1 block" (LARGE)."""
    m = re.search(r"(\d+)/(\d+) used", label)
    if m:
        return int(m.group(1))
    return 1 if re.search(r"\b1 block\b", label) else None


def test_svg_known_heap():
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        svg = os.path.join(tmp, "heap.svg")
        r, blocks = run_known(["--svg", svg, "--ex"])
        if not os.path.exists(svg):
            raise fail("--svg FILE: no file written", r.log())
        bad = well_formed(svg)
        text = read(svg)
        log = with_file(r, "the SVG", text, 20000)
        if bad:
            raise fail("--svg: not well-formed XML: %s" % bad, log)
        root = ET.parse(svg).getroot()
    if root.tag != SVG_NS + "svg":
        raise fail("--svg: the root element is %s, not svg" % root.tag, log)
    zones, _, _ = parse_ex_dump(r.err)
    bands = svg_bands(root)
    # One band per zone, in address order: the zones of the --ex dump taken in the same exit.
    want = [z["base"] for z in zones]
    got = []
    for label, _ in bands:
        m = re.search(r"0x([0-9A-F]+)", label)
        got.append(int(m.group(1), 16) if m else None)
    if got != want:
        raise fail("--svg: bands for %s, the heap's zones are %s (--ex, same exit)" % (
            ["0x%X" % a if a is not None else "?" for a in got], ["0x%X" % a for a in want]), log)
    for (label, _), z in zip(bands, zones):
        if not label.startswith(z["kind"]):
            raise fail("--svg: band %r for a %s zone" % (label, z["kind"]), log)
    # Tooltips: every cell in use covers program blocks only and gives the bytes they asked for;
    # every live block is in exactly one such cell.
    covered = {a: 0 for a in blocks}
    for label, cells in bands:
        used_cells = 0
        for start, nbytes, desc in cells:
            if "in use" not in desc:
                continue
            inside = [a for a in blocks if start <= a < start + nbytes]
            if not inside:
                raise fail("--svg: tooltip %r shows a block in use where the program has none" % desc, log)
            for a in inside:
                covered[a] += 1
            asked = re.search(r"(\d+) B asked", desc)
            total = sum(blocks[a] for a in inside)
            if "LARGE block in use" in desc:
                if inside != [start] or nbytes != blocks[start]:
                    raise fail("--svg: LARGE tooltip 0x%X %d B, the program's LARGE block is %s" % (
                        start, nbytes, {"0x%X" % a: blocks[a] for a in inside}), log)
            elif not asked or int(asked.group(1)) != total:
                raise fail("--svg: tooltip 0x%X %d B: %r; the program's blocks there asked %d B" % (
                    start, nbytes, desc, total), log)
            elif "chunks" not in desc and inside != [start]:
                raise fail("--svg: one-chunk tooltip at 0x%X, the block is at %s" % (
                    start, ["0x%X" % a for a in inside]), log)
            used_cells += len(inside)
        if svg_label_used(label) != used_cells:
            raise fail("--svg: band %r announces %s blocks, its cells in use hold %d" % (
                label, svg_label_used(label), used_cells), log)
    if any(n != 1 for n in covered.values()):
        raise fail("--svg: blocks not in exactly one cell in use: %s" % {
            "0x%X" % a: n for a, n in covered.items() if n != 1}, log)
    # The summary and the legend.
    s = svg_summary(root)
    counts = [sum(1 for z in zones if z["kind"] == k) for k in ("TINY", "SMALL", "LARGE")]
    if not s:
        raise fail("--svg: no summary `live N B in N blocks; zones: ...`", log)
    if s[0] != sum(blocks.values()) or s[1] != len(blocks) or s[2:5] != counts or \
            s[5] != sum(z["size"] for z in zones):
        raise fail("--svg: summary %s; the program holds %d B in %d blocks, zones %s, %d B mapped" % (
            s, sum(blocks.values()), len(blocks), counts, sum(z["size"] for z in zones)), log)
    texts = ["".join(t.itertext()) for t in root.iter(SVG_NS + "text")]
    missing = [w for w in ("in use", "free", "thread cache") if w not in texts]
    if missing:
        raise fail("--svg: the legend lacks %s" % missing, log)


HEAVY_PY = r"""
import ctypes
d = {i: str(i) * (i % 40 + 1) for i in range(200000)}
blobs = [bytearray(i % 3000 + 1) for i in range(20000)]
for k in range(0, 200000, 2):
    del d[k]
keep = [d, blobs]
ctypes.pythonapi.Py_IncRef(ctypes.py_object(keep))  # still live when the heap is drawn at exit
print("HEAVY DONE")
"""


def test_svg_python_heap():
    python = os.path.realpath(sys.executable)  # the interpreter itself, not a wrapper script
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        script = os.path.join(tmp, "heavy.py")
        with open(script, "w") as f:
            f.write(HEAVY_PY)
        svg = os.path.join(tmp, "python.svg")
        # PYTHONMALLOC=malloc: every object through malloc (not pymalloc's arenas).
        r = heap(["--svg", svg], [python, script], timeout=120, extra_env={"PYTHONMALLOC": "malloc"})
        if r.rc != 0 or "HEAVY DONE" not in r.out:
            raise fail("python3 under ft_heap --svg: %s" % rc_text(r.rc), r.log())
        if not os.path.exists(svg):
            raise fail("--svg: python3 wrote no file", r.log())
        size = os.path.getsize(svg)
        bad = well_formed(svg)
        if bad:
            raise fail("--svg of python3's heap (%d bytes): not well-formed: %s" % (size, bad), r.log())
        if size > 5 * 1024 * 1024:
            raise fail("--svg of python3's heap is %d bytes (more than 5 MB)" % size, r.log())
        root = ET.parse(svg).getroot()
    s = svg_summary(root)
    bands = svg_bands(root)
    if not s:
        raise fail("--svg of python3's heap: no summary line", r.log())
    if s[1] < 100000:
        raise fail("--svg of python3's heap: %d live blocks; the script keeps more than 100000" % s[1], r.log())
    if len(bands) != s[2] + s[3] + s[4]:
        raise fail("--svg of python3's heap: %d bands, the summary counts %d zones" % (len(bands), sum(s[2:5])),
                   r.log())
    announced = [svg_label_used(label) for label, _ in bands]
    if None in announced or sum(announced) != s[1]:
        raise fail("--svg of python3's heap: the band labels announce %s blocks, the summary %d" % (
            "?" if None in announced else sum(announced), s[1]), r.log())


# ----------------------------------------------------------------------------------------------------
# 4. --json

ZONE_FIELDS = ("kind", "address", "size", "class", "chunks", "used", "cached", "free", "blocks")
CLASS_FIELDS = ("allocs", "frees", "live_blocks", "live_bytes", "peak_live_bytes", "zones", "zones_mapped",
                "zones_returned", "bytes_mapped", "waste", "free_bytes", "cached_chunks")
ADDITIVE = ("allocs", "frees", "live_blocks", "live_bytes", "zones", "zones_mapped", "zones_returned",
            "bytes_mapped", "waste", "free_bytes", "cached_chunks")
TOTAL_EXTRA = ("maps", "unmaps", "lock_waits", "reserve_bytes", "free_chunks")
HEXSTR = re.compile(r"^0x[0-9a-f]+$")


def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def check_json(doc, blocks, pid, ex_zones):
    """Raises a message (str) on the first disagreement with README.md's schema or the program."""
    if not isinstance(doc, dict):
        return "the document is not an object"
    for k in ("version", "pid", "zones", "classes", "totals"):
        if k not in doc:
            return "no %r key" % k
    if doc["version"] != 1:
        return "version %r, expected 1" % doc["version"]
    if doc["pid"] != pid:
        return "pid %r, the program's pid is %d" % (doc["pid"], pid)
    # zones
    listed, last_end = {}, 0
    zone_of = {}  # block -> zone
    for z in doc["zones"]:
        missing = [f for f in ZONE_FIELDS if f not in z]
        if missing:
            return "zone %r lacks %s" % ({k: v for k, v in z.items() if k != "blocks"}, missing)
        if z["kind"] not in ("TINY", "SMALL", "LARGE"):
            return "zone kind %r" % z["kind"]
        if not isinstance(z["address"], str) or not HEXSTR.match(z["address"]):
            return "zone address %r is not a lower-case hex string" % z["address"]
        if not all(is_uint(z[f]) for f in ("size", "class", "chunks", "used", "cached", "free")):
            return "zone %s: a count is not a non-negative integer" % z["address"]
        base = int(z["address"], 16)
        if base < last_end:
            return "zone %s not after the previous one (zones in increasing address order, disjoint)" % z["address"]
        last_end = base + z["size"]
        if z["used"] + z["cached"] + z["free"] != z["chunks"]:
            return "zone %s: used + cached + free = %d, chunks %d" % (
                z["address"], z["used"] + z["cached"] + z["free"], z["chunks"])
        if len(z["blocks"]) != z["used"]:
            return "zone %s: %d used, %d blocks listed" % (z["address"], z["used"], len(z["blocks"]))
        if z["kind"] == "LARGE" and (z["class"], z["chunks"], z["used"]) != (0, 1, 1):
            return "LARGE zone %s: class %d, chunks %d, used %d (expected 0, 1, 1)" % (
                z["address"], z["class"], z["chunks"], z["used"])
        prev = -1
        for b in z["blocks"]:
            if set(b) != {"address", "size"} or not isinstance(b["address"], str) or \
                    not HEXSTR.match(b["address"]) or not is_uint(b["size"]):
                return "zone %s: malformed block %r" % (z["address"], b)
            a = int(b["address"], 16)
            if not base <= a < last_end or a <= prev:
                return "zone %s: block %s outside the zone or out of order" % (z["address"], b["address"])
            prev = a
            if z["kind"] != "LARGE" and b["size"] > z["class"]:
                return "zone %s of class %d: block %s of %d B" % (z["address"], z["class"], b["address"], b["size"])
            listed[a] = b["size"]
            zone_of[a] = z
    if listed != blocks:
        return "the blocks listed %s are not the program's live blocks %s" % (
            {"0x%x" % a: n for a, n in listed.items()}, {"0x%x" % a: n for a, n in blocks.items()})
    # the zones of the --ex dump written in the same exit
    got = [(z["kind"], int(z["address"], 16)) for z in doc["zones"]]
    want = [(z["kind"], z["base"]) for z in ex_zones]
    if got != want:
        return "zones %s, the --ex dump of the same exit shows %s" % (
            [(k, "0x%x" % a) for k, a in got], [(k, "0x%x" % a) for k, a in want])
    for z, e in zip(doc["zones"], ex_zones):
        if (z["size"], z["class"], z["chunks"], z["used"], z["cached"] + z["free"]) != (
                e["size"], e["class"], e["chunks"], e["used"], e["free"]):
            return "zone %s: size %d, class %d, %d chunks: %d used, %d cached + %d free; --ex says %s" % (
                z["address"], z["size"], z["class"], z["chunks"], z["used"], z["cached"], z["free"], e)
    # classes
    classes = doc["classes"]
    expected = all_classes()
    got = [(c.get("kind"), c.get("class")) for c in classes]
    if got != expected:
        i = next((i for i, (g, e) in enumerate(zip(got, expected)) if g != e), min(len(got), len(expected)))
        return "classes: %d entries, entry %d is %s, expected %s (16 TINY, 36 SMALL, then LARGE)" % (
            len(got), i, got[i] if i < len(got) else "missing", expected[i] if i < len(expected) else "none")
    for c in classes:
        missing = [f for f in CLASS_FIELDS if not is_uint(c.get(f))]
        if missing:
            return "class %s %d: %s missing or not non-negative integers" % (c["kind"], c["class"], missing)
        mine = [z for z in doc["zones"] if z["kind"] == c["kind"] and (c["kind"] == "LARGE" or z["class"] == c["class"])]
        live = [b for z in mine for b in z["blocks"]]
        if c["live_blocks"] != len(live) or c["live_bytes"] != sum(b["size"] for b in live):
            return "class %s %d: live_blocks %d, live_bytes %d; its zones hold %d blocks of %d B" % (
                c["kind"], c["class"], c["live_blocks"], c["live_bytes"], len(live), sum(b["size"] for b in live))
        if c["zones"] != len(mine) or c["bytes_mapped"] != sum(z["size"] for z in mine):
            return "class %s %d: zones %d, bytes_mapped %d; %d zones of that class listed, mapping %d B" % (
                c["kind"], c["class"], c["zones"], c["bytes_mapped"], len(mine), sum(z["size"] for z in mine))
        if c["kind"] != "LARGE":
            if c["cached_chunks"] != sum(z["cached"] for z in mine):
                return "class %s %d: cached_chunks %d, its zones hold %d cached" % (
                    c["kind"], c["class"], c["cached_chunks"], sum(z["cached"] for z in mine))
        if c["allocs"] - c["frees"] != c["live_blocks"]:
            return "class %s %d: allocs %d - frees %d != live_blocks %d" % (
                c["kind"], c["class"], c["allocs"], c["frees"], c["live_blocks"])
    # totals
    t = doc["totals"]
    missing = [f for f in CLASS_FIELDS + TOTAL_EXTRA if not is_uint(t.get(f))]
    if missing:
        return "totals: %s missing or not non-negative integers" % missing
    for f in ADDITIVE:
        if t[f] != sum(c[f] for c in classes):
            return "totals.%s = %d, the classes sum to %d" % (f, t[f], sum(c[f] for c in classes))
    if t["live_bytes"] != sum(blocks.values()) or t["live_blocks"] != len(blocks):
        return "totals: live_bytes %d in %d blocks; the program holds %d B in %d blocks" % (
            t["live_bytes"], t["live_blocks"], sum(blocks.values()), len(blocks))
    if t["bytes_mapped"] != sum(z["size"] for z in doc["zones"]):
        return "totals.bytes_mapped %d, the zones listed map %d B" % (t["bytes_mapped"],
                                                                      sum(z["size"] for z in doc["zones"]))
    if t["free_chunks"] != sum(z["free"] for z in doc["zones"]):
        return "totals.free_chunks %d, the zones listed have %d free" % (t["free_chunks"],
                                                                          sum(z["free"] for z in doc["zones"]))
    if t["zones"] != len(doc["zones"]):
        return "totals.zones %d, %d zones and LARGE mappings listed" % (t["zones"], len(doc["zones"]))
    # The 300000 B and the 150000 B LARGE blocks were live together.
    if t["peak_live_bytes"] < 450000:
        return "totals.peak_live_bytes %d, below the 450000 B of LARGE blocks live at once" % t["peak_live_bytes"]
    if t["maps"] < t["unmaps"] or t["maps"] < len(doc["zones"]):
        return "totals: maps %d, unmaps %d, for %d zones now" % (t["maps"], t["unmaps"], len(doc["zones"]))
    return None


def test_json_known_heap():
    with tempfile.TemporaryDirectory(prefix="ft_tools_") as tmp:
        path = os.path.join(tmp, "heap.json")
        r, blocks = run_known(["--json", path, "--ex"])
        text = read(path)
    log = with_file(r, "the JSON", text, 20000)
    if text is None:
        raise fail("--json FILE: no file written", log)
    try:
        doc = json.loads(text)
    except ValueError as e:
        raise fail("--json: not valid JSON: %s" % e, log)
    ex_zones, _, _ = parse_ex_dump(r.err)
    problem = check_json(doc, blocks, program_pid(r.out), ex_zones)
    if problem:
        raise fail("--json: " + problem, log)


reg("svg/known_heap", test_svg_known_heap, ["tools_known_heap"])
reg("svg/python_heap", test_svg_python_heap, timeout=180)
reg("json/known_heap", test_json_known_heap, ["tools_known_heap"])
