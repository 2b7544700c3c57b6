#include "tools/ft_heap/html_report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/ft_heap/call_log_reader.h"
#include "tools/ft_heap/charts.h"
#include "tools/ft_heap/launcher.h"
#include "tools/ft_heap/output_file.h"
#include "tools/ft_heap/snapshot.h"
#include "tools/ft_heap/units.h"

namespace ft_heap {
namespace {

constexpr unsigned kTopRows = 12;

// A whole file, NUL-terminated (malloc'ed), or nullptr.
char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return nullptr;
  size_t cap = 1 << 16, len = 0, got;
  char *text = static_cast<char *>(malloc(cap + 1));
  while ((got = fread(text + len, 1, cap - len, f)) > 0)
    if ((len += got) == cap) text = static_cast<char *>(realloc(text, (cap *= 2) + 1));
  fclose(f);
  text[len] = 0;
  return text;
}

const char kStyle[] =
    "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1500px}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}"
    "code{font-size:.95em}.view{overflow:auto;border:1px solid #ccc;max-height:70vh}"
    ".controls{margin:.4em 0}.controls button{min-width:2.4em;margin-right:.3em}"
    "table{border-collapse:collapse;font-size:.9em}td,th{padding:2px 8px;text-align:right;vertical-align:top}"
    "th{background:#f2f2f2}td.name{text-align:left;font-family:monospace;white-space:pre-wrap}"
    ".bar{background:#d9534f;height:.8em;display:inline-block}td.barcell{text-align:left;width:320px}";

// The page's one script: zooming the map (buttons, ctrl+wheel). It marks the page once done
// (data-ready, data-cells), which the tests read back from Chromium's rendering.
const char kScript[] =
    "(function () {\n"
    "  'use strict';\n"
    "  var view = document.getElementById('map-view');\n"
    "  var svg = view.querySelector('svg');\n"
    "  var label = document.getElementById('zoom-level');\n"
    "  var box = svg.viewBox.baseVal, level = 1;\n"
    "  var fit = Math.min(1, (view.clientWidth - 4) / box.width) || 1;\n"
    "  function apply() {\n"
    "    svg.setAttribute('width', box.width * level * fit);\n"
    "    svg.setAttribute('height', box.height * level * fit);\n"
    "    label.textContent = Math.round(level * 100) + '%';\n"
    "  }\n"
    "  function zoom(f) { level = Math.max(0.25, Math.min(64, level * f)); apply(); }\n"
    "  document.getElementById('zoom-in').addEventListener('click', function () { zoom(1.5); });\n"
    "  document.getElementById('zoom-out').addEventListener('click', function () { zoom(1 / 1.5); });\n"
    "  document.getElementById('zoom-reset').addEventListener('click', function () { level = 1; apply(); });\n"
    "  view.addEventListener('wheel', function (e) {\n"
    "    if (!e.ctrlKey) return;\n"
    "    e.preventDefault();\n"
    "    zoom(e.deltaY < 0 ? 1.25 : 0.8);\n"
    "  }, {passive: false});\n"
    "  apply();\n"
    "  document.body.setAttribute('data-cells', String(svg.querySelectorAll('path > title').length));\n"
    "  document.body.setAttribute('data-ready', 'yes');\n"
    "})();\n";

// The live blocks' sizes in powers of two: bucket b holds sizes in (2^(b-1), 2^b]; b = 4 also 0..16.
void size_histogram(FILE *f, const JsonValue &snap) {
  uint64_t blocks[65] = {0}, bytes[65] = {0}, most = 0;
  unsigned lo = 64, hi = 0;
  const JsonValue *zones = snap.get("zones");
  for (size_t z = 0; zones && z < zones->count; ++z) {
    const JsonValue *list = zones->items[z].get("blocks");
    for (size_t i = 0; list && i < list->count; ++i) {
      uint64_t size = list->items[i].num("size");
      unsigned b = 4;
      while (b < 64 && (uint64_t{1} << b) < size) ++b;
      blocks[b]++, bytes[b] += size;
      if (b < lo) lo = b;
      if (b > hi) hi = b;
      if (blocks[b] > most) most = blocks[b];
    }
  }
  fputs("<section id=\"sizes\"><h2>Sizes of the blocks live at exit</h2>\n", f);
  if (lo > hi) {
    fputs("<p>No block was live at exit.</p></section>\n", f);
    return;
  }
  fputs("<table><tr><th>size</th><th>blocks</th><th>bytes</th><th></th></tr>\n", f);
  char a[32], b[32];
  for (unsigned k = lo; k <= hi; ++k) {
    uint64_t from = k == 4 ? 0 : (uint64_t{1} << (k - 1)) + 1;
    fprintf(f, "<tr><td>%s &ndash; %s</td><td>%" PRIu64 "</td><td>%" PRIu64 "</td>",
            from < 1024 ? (snprintf(a, sizeof a, "%" PRIu64 " B", from), a) : human_bytes(a, sizeof a, from),
            human_bytes(b, sizeof b, uint64_t{1} << k), blocks[k], bytes[k]);
    fprintf(f, "<td class=\"barcell\"><span class=\"bar\" style=\"width:%.1f%%\"></span></td></tr>\n",
            most ? 100.0 * static_cast<double>(blocks[k]) / static_cast<double>(most) : 0.0);
  }
  fputs("</table></section>\n", f);
}

void top_sites(FILE *f, const JsonValue &snap) {
  fputs("<section id=\"sites\"><h2>Top call sites of the blocks live at exit</h2>\n", f);
  const JsonValue *sites = snap.get("sites");
  if (!sites || !sites->count) {
    fputs("<p>No call site: no block was live at exit.</p>\n", f);
    return;
  }
  fputs("<table><tr><th>bytes</th><th>blocks</th><th style=\"text-align:left\">allocated at</th></tr>\n", f);
  for (size_t i = 0; i < sites->count && i < kTopRows; ++i) {
    char *name = site_name(sites->items[i]);
    fprintf(f, "<tr><td>%" PRIu64 "</td><td>%" PRIu64 "</td><td class=\"name\">", sites->items[i].num("bytes"),
            sites->items[i].num("blocks"));
    write_escaped(f, name);
    fputs("</td></tr>\n", f);
    free(name);
  }
  fprintf(f, "</table>%s\n", sites->count > kTopRows ? "<p>(the biggest only)</p>" : "");
}

// The stacks that allocated the most over the run (the collapsed stacks of FT_MALLOC_FOLDED_ALLOC),
// innermost frame first.
struct Stack {
  char *frames;
  uint64_t bytes;
};

int by_bytes(const void *a, const void *b) {
  uint64_t x = static_cast<const Stack *>(a)->bytes, y = static_cast<const Stack *>(b)->bytes;
  return x > y ? -1 : x < y;
}

void top_stacks(FILE *f, const char *folded_path) {
  char *text = slurp(folded_path);
  Stack *stacks = nullptr;
  size_t n = 0;
  for (char *line = text, *next; line && *line; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    char *space = strrchr(line, ' ');
    if (!space) continue;
    *space = 0;
    stacks = static_cast<Stack *>(realloc(stacks, (n + 1) * sizeof *stacks));
    stacks[n++] = Stack{line, strtoull(space + 1, nullptr, 10)};
  }
  qsort(stacks, n, sizeof *stacks, by_bytes);
  fputs("<h2>Top call stacks by bytes allocated over the run</h2>\n", f);
  fputs("<table><tr><th>bytes</th><th style=\"text-align:left\">stack (innermost first)</th></tr>\n", f);
  for (size_t i = 0; i < n && i < kTopRows; ++i) {
    fprintf(f, "<tr><td>%" PRIu64 "</td><td class=\"name\">", stacks[i].bytes);
    // Root first in the file; shown the other way round, as the leak report does.
    for (char *end = stacks[i].frames + strlen(stacks[i].frames);;) {
      char *semi = end;
      while (semi > stacks[i].frames && semi[-1] != ';') --semi;
      char saved = *end;
      *end = 0;
      write_escaped(f, semi);
      *end = saved;
      if (semi == stacks[i].frames) break;
      fputs(" &lt;- ", f);
      end = semi - 1;
    }
    fputs("</td></tr>\n", f);
  }
  fputs("</table></section>\n", f);
  free(stacks);
  free(text);
}

void remove_parts(const HtmlInputs &in) {
  if (!in.dir[0]) return;
  const char *parts[] = {in.svg, in.json, in.folded};
  for (const char *p : parts)
    if (!strncmp(p, in.dir, strlen(in.dir))) unlink(p);
  rmdir(in.dir);
}

}  // namespace

bool prepare_html(const char *out, const char *trace, HtmlInputs *in) {
  memset(in, 0, sizeof *in);
  in->out = out;
  in->trace = trace;
  const char *tmp = getenv("TMPDIR");
  snprintf(in->dir, sizeof in->dir, "%s/ft_heap_html.XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(in->dir)) {
    fprintf(stderr, "ft_heap: %s: cannot make a folder for the page's parts: %s\n", in->dir, strerror(errno));
    in->dir[0] = 0;
    return false;
  }
  struct {
    char *path;
    const char *var, *name;
  } parts[] = {{in->svg, "FT_MALLOC_SVG", "heap.svg"},
               {in->json, "FT_MALLOC_JSON", "heap.json"},
               {in->folded, "FT_MALLOC_FOLDED_ALLOC", "alloc.folded"}};
  for (auto &p : parts) {
    const char *mine = getenv(p.var);  // --svg, --json, --folded-alloc given too: theirs serve
    if (mine && *mine) snprintf(p.path, PATH_MAX, "%s", mine);
    else snprintf(p.path, PATH_MAX, "%s/%s", in->dir, p.name), set_env(p.var, p.path);
  }
  return true;
}

int write_html(const HtmlInputs &in, char **argv) {
  const JsonValue *snap = load_snapshot(in.json);
  char *svg = slurp(in.svg);
  if (!snap || !svg) {
    fprintf(stderr, "ft_heap: %s: not written: %s left no heap snapshot at exit (killed, or exec'ed another program?)\n",
            in.out, argv[0]);
    remove_parts(in);
    return kBadFile;
  }
  Log log;
  bool have_log = in.trace && load_log(in.trace, &log);
  Output out;
  if (!open_output(in.out, &out)) {
    remove_parts(in);
    return kBadFile;
  }
  FILE *f = out.f;
  fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n", f);
  // First of all, so that any error of the page's script is seen (the tests read it back).
  fputs("<script>window.addEventListener('error', function (e) {"
        " document.documentElement.setAttribute('data-script-error', String(e.message)); });</script>\n", f);
  fputs("<title>ft_malloc heap of ", f);
  write_escaped(f, argv[0]);
  fprintf(f, "</title>\n<style>%s</style></head>\n<body>\n<h1>ft_malloc heap of <code>", kStyle);
  for (char **a = argv; *a; ++a) {
    if (a != argv) fputc(' ', f);
    write_escaped(f, *a);
  }
  const JsonValue *t = snap->get("totals");
  char a[32], b[32], c[32];
  fprintf(f, "</code></h1>\n<p>pid %" PRIu64 ". At exit: %s live in %" PRIu64 " blocks; %s mapped; peak %s (chunks and mappings).</p>\n",
          snap->num("pid"), human_bytes(a, sizeof a, t ? t->num("live_bytes") : 0), t ? t->num("live_blocks") : 0,
          human_bytes(b, sizeof b, t ? t->num("bytes_mapped") : 0), human_bytes(c, sizeof c, t ? t->num("peak_live_bytes") : 0));
  fputs("<p><a href=\"#map\">heap map</a> &middot; <a href=\"#sizes\">sizes</a> &middot; ", f);
  if (have_log) fputs("<a href=\"#timeline\">timeline</a> &middot; ", f);
  fputs("<a href=\"#sites\">call sites</a></p>\n", f);
  fputs("<section id=\"map\"><h2>Heap map at exit</h2>\n<div class=\"controls\"><button id=\"zoom-in\">+</button>"
        "<button id=\"zoom-out\">&minus;</button><button id=\"zoom-reset\">fit</button> <span id=\"zoom-level\">100%</span>"
        " &mdash; one band per zone; hover a cell for its address, size and state; ctrl+wheel zooms</div>\n"
        "<div class=\"view\" id=\"map-view\">\n", f);
  const char *start = strstr(svg, "<svg");
  fputs(start ? start : svg, f);
  fputs("</div></section>\n", f);
  size_histogram(f, *snap);
  if (have_log) {
    fputs("<section id=\"timeline\"><h2>Over time</h2>\n", f);
    char title[600];
    snprintf(title, sizeof title, "heap over time (call log %s)", in.trace);
    write_timeline_svg(f, log, title);
    fputs("</section>\n", f);
    unload_log(&log);
  }
  top_sites(f, *snap);
  top_stacks(f, in.folded);
  fprintf(f, "<script>\n%s</script>\n</body></html>\n", kScript);
  free(svg);
  remove_parts(in);
  return commit_output(&out) ? 0 : kBadFile;
}

}  // namespace ft_heap
