"""show_alloc_mem and show_alloc_mem_ex (test/dump.c): their output checked line by line against
the program's own list of blocks. The checkers serve the reports at exit too (stats.py).
"""

import re

from runner.core import (BINARIES, Fail, MIN_CHUNKS, PAGE, TINY_MAX, all_classes, base_env, c_case,
                         case_names, category, expected_class, register)


# ---- show_alloc_mem ------------------------------------------------------------------------------

def program_blocks(err):
    blocks, freed = [], []
    for line in err.splitlines():
        m = re.match(r"^BLOCK 0x([0-9a-f]+) (\d+) ([mar])$", line)
        if m:
            blocks.append((int(m.group(1), 16), int(m.group(2)), m.group(3)))
        m = re.match(r"^FREED 0x([0-9a-f]+)$", line)
        if m:
            freed.append(int(m.group(1), 16))
    if not blocks:
        raise Fail("the program reported no blocks")
    return blocks, freed


HEX = r"0x([1-9A-F][0-9A-F]*)"
PLAIN_HDR = re.compile(r"^(TINY|SMALL|LARGE) : %s$" % HEX)
PLAIN_BLK = re.compile(r"^%s - %s : (0|[1-9][0-9]*) bytes$" % (HEX, HEX))
PLAIN_TOT = re.compile(r"^Total : (0|[1-9][0-9]*) bytes$")


def check_plain_dump(r):
    """Strict check of show_alloc_mem's output against the program's own list of blocks."""
    blocks, freed = program_blocks(r.err)
    text = r.out
    if not text.endswith("\n"):
        raise Fail("output does not end with a newline")
    lines = text[:-1].split("\n")
    zones = []  # [kind, addr, [blocks]]
    total = None
    for i, line in enumerate(lines):
        if total is not None:
            raise Fail("line after the Total line: %r" % line)
        m = PLAIN_HDR.match(line)
        if m:
            zones.append([m.group(1), int(m.group(2), 16), []])
            continue
        m = PLAIN_BLK.match(line)
        if m:
            if not zones:
                raise Fail("block line before any zone header: %r" % line)
            start, end, size = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
            if end - start != size:
                raise Fail("line %d: end - start = %d but size %d: %r" % (i + 1, end - start, size, line))
            zones[-1][2].append((start, size))
            continue
        m = PLAIN_TOT.match(line)
        if m:
            total = int(m.group(1))
            continue
        # 0x0 cannot be a block or a zone; anything else is a format error.
        raise Fail("line %d does not match the format: %r" % (i + 1, line))
    if total is None:
        raise Fail("no `Total : N bytes` line at the end")
    listed = {}
    prev_zone, prev_block = -1, -1
    for zi, (kind, addr, blks) in enumerate(zones):
        if addr <= prev_zone:
            raise Fail("zone headers not in increasing address order (%s : 0x%X)" % (kind, addr))
        prev_zone = addr
        nxt = zones[zi + 1][1] if zi + 1 < len(zones) else None
        if not blks:
            raise Fail("zone %s : 0x%X listed without any block" % (kind, addr))
        if kind == "LARGE" and len(blks) != 1:
            raise Fail("LARGE zone 0x%X lists %d blocks (each LARGE block is its own mapping)" % (addr, len(blks)))
        if addr % PAGE:
            raise Fail("zone %s : 0x%X is not page aligned" % (kind, addr))
        for start, size in blks:
            if start <= prev_block:
                raise Fail("block lines not in increasing address order at 0x%X" % start)
            prev_block = start
            if start < addr or (nxt is not None and start + size > nxt):
                raise Fail("block 0x%X (%d bytes) lies outside its zone %s : 0x%X" % (start, size, kind, addr))
            if start % 16:
                raise Fail("block 0x%X is not 16-byte aligned" % start)
            listed[start] = (size, kind)
    if total != sum(s for s, _ in listed.values()):
        raise Fail("Total %d != sum of the listed sizes %d" % (total, sum(s for s, _ in listed.values())))
    for addr, size, how in blocks:
        if addr not in listed:
            raise Fail("block %#x (%d bytes) of the program is not listed" % (addr, size))
        lsize, kind = listed[addr]
        if lsize != size:
            raise Fail("block 0x%X listed with %d bytes, the program asked %d" % (addr, lsize, size))
        if how == "m" and kind != category(size):
            raise Fail("block 0x%X of %d bytes listed under %s, expected %s" % (addr, size, kind, category(size)))
    for addr in freed:
        if addr in listed:
            raise Fail("freed block 0x%X still listed" % addr)


EX_ZONE = re.compile(r"^(TINY|SMALL) : 0x([0-9A-F]+) zone (\d+) B, class (\d+) B, (\d+) chunks: (\d+) used, (\d+) free")
EX_LARGE = re.compile(r"^LARGE : 0x([0-9A-F]+) mapping (\d+) B")
EX_BLK = re.compile(r"^0x([0-9A-F]+) - 0x([0-9A-F]+) : (\d+) bytes\b(.*)$")
EX_FREE = re.compile(r"^0x([0-9A-F]+) - 0x([0-9A-F]+) : free, (\d+) chunks?\b")
EX_TOT = re.compile(r"^Total : (\d+) bytes in (\d+) blocks; zones: (\d+) TINY, (\d+) SMALL, (\d+) LARGE; "
                    r"(\d+) bytes mapped")


def parse_ex_dump(r):
    """Parses show_alloc_mem_ex's output; checks its internal consistency. Returns (zones, blocks)."""
    blocks, freed = program_blocks(r.err)
    zones = []  # dicts
    total = None
    for i, line in enumerate(r.out.splitlines()):
        if total is not None:
            raise Fail("line after the Total line: %r" % line)
        m = EX_ZONE.match(line)
        if m:
            zones.append(dict(kind=m.group(1), addr=int(m.group(2), 16), size=int(m.group(3)),
                              cls=int(m.group(4)), chunks=int(m.group(5)), used=int(m.group(6)),
                              free=int(m.group(7)), blocks=[], free_runs=[], line=line))
            continue
        m = EX_LARGE.match(line)
        if m:
            zones.append(dict(kind="LARGE", addr=int(m.group(1), 16), size=int(m.group(2)), blocks=[],
                              free_runs=[], line=line))
            continue
        m = EX_FREE.match(line)
        if m:
            if not zones:
                raise Fail("free run before any zone header: %r" % line)
            zones[-1]["free_runs"].append((int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))))
            continue
        m = EX_BLK.match(line)
        if m:
            if not zones:
                raise Fail("block line before any zone header: %r" % line)
            start, end, size = int(m.group(1), 16), int(m.group(2), 16), int(m.group(3))
            if end - start != size:
                raise Fail("line %d: end - start != size: %r" % (i + 1, line))
            zones[-1]["blocks"].append((start, size, m.group(4)))
            continue
        m = EX_TOT.match(line)
        if m:
            total = [int(x) for x in m.groups()]
            continue
        raise Fail("line %d of show_alloc_mem_ex does not match the format: %r" % (i + 1, line[:120]))
    if total is None:
        raise Fail("no Total line at the end of show_alloc_mem_ex")
    listed = {}
    prev = -1
    for z in zones:
        if z["addr"] <= prev:
            raise Fail("zones not in increasing address order at 0x%X" % z["addr"])
        prev = z["addr"]
        if z["addr"] % PAGE or z["size"] % PAGE:
            raise Fail("zone not page aligned / not a multiple of the page size: %s" % z["line"])
        end = z["addr"] + z["size"]
        if z["kind"] == "LARGE":
            if len(z["blocks"]) != 1:
                raise Fail("LARGE mapping with %d blocks: %s" % (len(z["blocks"]), z["line"]))
        else:
            if z["chunks"] < MIN_CHUNKS:
                raise Fail("zone holds %d chunks (< %d): %s" % (z["chunks"], MIN_CHUNKS, z["line"]))
            if z["chunks"] * z["cls"] > z["size"]:
                raise Fail("chunks * class > zone size: %s" % z["line"])
            if z["used"] + z["free"] != z["chunks"]:
                raise Fail("used + free != chunks: %s" % z["line"])
            if z["used"] != len(z["blocks"]):
                raise Fail("header says %d used but %d blocks listed: %s" % (z["used"], len(z["blocks"]), z["line"]))
            if z["free_runs"] and sum(n for _, _, n in z["free_runs"]) != z["free"]:
                raise Fail("free runs hold %d chunks, header says %d free: %s" % (
                    sum(n for _, _, n in z["free_runs"]), z["free"], z["line"]))
            if (z["kind"] == "TINY") != (z["cls"] <= TINY_MAX):
                raise Fail("class %d in a %s zone: %s" % (z["cls"], z["kind"], z["line"]))
        last = -1
        for start, size, _ in z["blocks"]:
            if start <= last:
                raise Fail("blocks of zone 0x%X not in address order" % z["addr"])
            last = start
            if start < z["addr"] or start + size > end:
                raise Fail("block 0x%X (%d bytes) outside its zone: %s" % (start, size, z["line"]))
            if z["kind"] != "LARGE" and size > z["cls"]:
                raise Fail("block of %d bytes in a zone of class %d" % (size, z["cls"]))
            listed[start] = (size, z)
        for start, stop, _ in z["free_runs"]:
            if start < z["addr"] or stop > end:
                raise Fail("free run 0x%X - 0x%X outside its zone: %s" % (start, stop, z["line"]))
    tbytes, tblocks, ntiny, nsmall, nlarge, mapped = total
    if tbytes != sum(s for s, _ in listed.values()):
        raise Fail("Total %d bytes != sum of the listed blocks %d" % (tbytes, sum(s for s, _ in listed.values())))
    if tblocks != len(listed):
        raise Fail("Total says %d blocks, %d listed" % (tblocks, len(listed)))
    counts = [sum(1 for z in zones if z["kind"] == k) for k in ("TINY", "SMALL", "LARGE")]
    if counts != [ntiny, nsmall, nlarge]:
        raise Fail("Total zone counts %s != zones listed %s" % ([ntiny, nsmall, nlarge], counts))
    if mapped < sum(z["size"] for z in zones):
        raise Fail("%d bytes mapped < sum of the zone sizes %d" % (mapped, sum(z["size"] for z in zones)))
    for addr, size, how in blocks:
        if addr not in listed:
            raise Fail("block %#x (%d bytes) of the program is not listed" % (addr, size))
        lsize, z = listed[addr]
        if lsize != size:
            raise Fail("block 0x%X listed with %d bytes, the program asked %d" % (addr, lsize, size))
        if how == "m":
            if z["kind"] != category(size):
                raise Fail("block of %d bytes in a %s zone" % (size, z["kind"]))
            if z["kind"] != "LARGE" and z["cls"] != expected_class(size):
                raise Fail("malloc(%d) in a zone of class %d, expected class %d" % (
                    size, z["cls"], expected_class(size)))
            if z["kind"] == "LARGE" and z["size"] < size:
                raise Fail("LARGE mapping of %d B for %d bytes" % (z["size"], size))
    for addr in freed:
        if addr in listed:
            raise Fail("freed block 0x%X still listed" % addr)
    return zones, listed


def check_ex_format(r):
    zones, listed = parse_ex_dump(r)
    blocks, _ = program_blocks(r.err)
    lines = {int(m.group(1), 16): m.group(0) for m in re.finditer(r"^0x([0-9A-F]+) - .*$", r.out, re.M)}
    hello, alpha, binary = blocks[0][0], blocks[1][0], blocks[2][0]
    if not re.search(r"48 65 6C 6C 6F 00 00", lines[hello]) or "|Hello." not in lines[hello]:
        raise Fail("hex/ASCII dump of \"Hello\" missing: %r" % lines[hello])
    if not re.search(r"41 42 43 44 45 46", lines[alpha]) or "|ABCDEF" not in lines[alpha]:
        raise Fail("hex/ASCII dump of \"ABCDEF...\" missing: %r" % lines[alpha])
    if not re.search(r"01 02 7F 80 FF", lines[binary]) or not re.search(r"\|\.\.\.\.\.", lines[binary]):
        raise Fail("hex/ASCII dump of non-printable bytes wrong: %r" % lines[binary])


def check_zone_classes(r):
    zones, _ = parse_ex_dump(r)
    tiny, small = all_classes()
    seen = {z["cls"] for z in zones if z["kind"] != "LARGE"}
    missing = [c for c in tiny + small if c not in seen]
    if missing:
        raise Fail("no zone for class(es) %s" % missing[:10])
    extra = sorted(seen - set(tiny + small))
    if extra:
        raise Fail("zones of unexpected class(es) %s" % extra[:10])


def check_large_alone(r):
    zones, listed = parse_ex_dump(r)
    blocks, _ = program_blocks(r.err)
    for addr, size, _ in blocks:
        z = listed[addr][1]
        if z["kind"] != "LARGE":
            raise Fail("block of %d bytes not in a LARGE mapping" % size)


DUMP_CHECKS = {"known_heap": check_plain_dump, "ex_format": check_ex_format, "zone_classes": check_zone_classes,
               "large_listed_alone": check_large_alone}
for case in case_names(BINARIES["dump"].src):
    register("dump/%s" % case, c_case("dump", case, check=DUMP_CHECKS.get(case)), ["dump"])
# Without the per-thread cache only the reserve zone may remain.
for case in ("zone_release_tiny", "zone_release_small"):
    register("dump/%s_no_tcache" % case, c_case("dump", case, env=base_env(FT_MALLOC_TCACHE="0")), ["dump"])
