"""test/bench/results.svg: the time ratios against glibc as grouped bars."""
import math

from benchlib.common import COLORS, GLIBC, geomean


def esc(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def write_svg(path, wl, allocs, results, subtitle):
    """Grouped bars: one group per workload (and the geometric mean), one bar per allocator,
    wall-time ratio to glibc on a log2 scale, bars drawn from the glibc line at 1x."""
    names = [a.name for a in allocs if a.name != GLIBC]
    groups = []
    for wname, *_ in wl:
        groups.append((wname, [(n, results[(wname, n)].get("ratio"), results[(wname, n)]["status"])
                               for n in names]))
    groups.append(("geomean", [(n, geomean([results[(w[0], n)].get("ratio") for w in wl]), "ok")
                               for n in names]))
    vals = [r for _, bars in groups for _, r, _ in bars if r]
    lo_exp = min(-1, math.floor(math.log2(min(vals) * 0.9))) if vals else -1
    hi_exp = max(1, math.ceil(math.log2(max(vals) * 1.1))) if vals else 1
    lo_exp, hi_exp = max(lo_exp, -6), min(hi_exp, 8)
    bar_w, gap = 11, 16
    group_w = len(names) * bar_w + gap
    left, right, top, bottom = 70, 20, 78, 92
    plot_h = 360
    width = left + right + group_w * len(groups)
    height = top + plot_h + bottom

    def y(r):
        e = min(max(math.log2(r), lo_exp), hi_exp)
        return top + plot_h * (hi_exp - e) / (hi_exp - lo_exp)

    o = []
    o.append('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
             'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">' %
             (width, height, width, height))
    o.append('<rect width="100%" height="100%" fill="white"/>')
    o.append('<text x="%d" y="20" font-size="15" font-weight="bold">Wall time relative to glibc '
             'malloc (log scale; below 1 is faster than glibc)</text>' % left)
    o.append('<text x="%d" y="38" fill="#555">%s</text>' % (left, esc(subtitle)))
    lx = left
    for n in names:
        o.append('<rect x="%d" y="50" width="12" height="12" fill="%s"/>' % (lx, COLORS.get(n,
                                                                                         "#999")))
        o.append('<text x="%d" y="60">%s</text>' % (lx + 16, esc(n)))
        lx += 28 + 7 * len(n)
    for e in range(lo_exp, hi_exp + 1):
        yy = y(2.0 ** e)
        label = ("%g" % 2.0 ** e) + "x"
        o.append('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="%s"/>' %
                 (left, width - right, yy, yy, "#333" if e == 0 else "#ddd",
                  "1.2" if e == 0 else "1"))
        o.append('<text x="%d" y="%.1f" text-anchor="end" fill="#444">%s</text>' %
                 (left - 6, yy + 4, label))
    y1 = y(1.0)
    for gi, (gname, bars) in enumerate(groups):
        gx = left + gi * group_w + gap / 2
        if gname == "geomean":
            o.append('<rect x="%.1f" y="%d" width="%d" height="%d" fill="#f3f3f3"/>' %
                     (gx - gap / 2, top, group_w, plot_h))
        for bi, (n, r, st) in enumerate(bars):
            x = gx + bi * bar_w
            if r:
                yr = y(r)
                o.append('<rect x="%.1f" y="%.1f" width="%d" height="%.1f" fill="%s">'
                         '<title>%s, %s: %.2fx glibc</title></rect>' %
                         (x, min(yr, y1), bar_w - 1, max(abs(yr - y1), 1), COLORS.get(n, "#999"),
                          esc(gname), esc(n), r))
                if math.log2(r) > hi_exp:
                    o.append('<text x="%.1f" y="%.1f" font-size="9" text-anchor="middle">%.0fx'
                             '</text>' % (x + bar_w / 2, top - 3, r))
            elif st != "ok":
                o.append('<text x="%.1f" y="%.1f" font-size="10" fill="%s" text-anchor="middle">'
                         '&#x2716;<title>%s, %s: %s</title></text>' %
                         (x + bar_w / 2, y1 - 4, COLORS.get(n, "#999"), esc(gname), esc(n),
                          esc(st)))
        cx = gx + len(bars) * bar_w / 2
        o.append('<text transform="translate(%.1f,%d) rotate(-40)" text-anchor="end">%s</text>' %
                 (cx, top + plot_h + 14, esc(gname)))
    o.append('<text x="%d" y="%d" fill="#555" font-size="10">&#x2716; = crashed, failed or timed '
             'out. Made by test/bench/bench.py (make bench).</text>' % (left, height - 8))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
