#include "tools/ft_heap/diff.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ft_heap/call_log_reader.h"
#include "tools/ft_heap/snapshot.h"

namespace ft_heap {
namespace {

// One row: a class (or LARGE), or a call site, in both snapshots.
struct Row {
  const char *kind;  // "TINY", "SMALL", "LARGE"; nullptr for a site
  uint64_t size;     // the class's chunk size
  char *site;        // a site's frames
  uint64_t blocks[2], bytes[2];
};

int64_t change(const Row &r) { return static_cast<int64_t>(r.bytes[1]) - static_cast<int64_t>(r.bytes[0]); }
int64_t block_change(const Row &r) { return static_cast<int64_t>(r.blocks[1]) - static_cast<int64_t>(r.blocks[0]); }

int by_change(const void *a, const void *b) {
  int64_t x = change(*static_cast<const Row *>(a)), y = change(*static_cast<const Row *>(b));
  uint64_t ax = static_cast<uint64_t>(x < 0 ? -x : x), ay = static_cast<uint64_t>(y < 0 ? -y : y);
  if (ax != ay) return ax > ay ? -1 : 1;
  int64_t bx = block_change(*static_cast<const Row *>(a)), by = block_change(*static_cast<const Row *>(b));
  return (by < 0 ? -by : by) > (bx < 0 ? -bx : bx) ? 1 : -1;
}

// The row for a class or a site, added when new.
Row *row_for(Row **rows, size_t *n, const char *kind, uint64_t size, const char *site) {
  for (size_t i = 0; i < *n; ++i) {
    Row &r = (*rows)[i];
    if (site ? r.site && !strcmp(r.site, site) : r.kind && !strcmp(r.kind, kind) && r.size == size) return &r;
  }
  *rows = static_cast<Row *>(realloc(*rows, (*n + 1) * sizeof **rows));
  Row &r = (*rows)[(*n)++];
  r = Row{kind, size, site ? strdup(site) : nullptr, {0, 0}, {0, 0}};
  return &r;
}

void signed_column(int64_t v, int width) {
  char buf[32];
  snprintf(buf, sizeof buf, v > 0 ? "+%" PRId64 : "%" PRId64, v);
  printf("%*s", width, buf);
}

}  // namespace

int diff_snapshots(const char *a_path, const char *b_path) {
  const JsonValue *snap[2] = {load_snapshot(a_path), nullptr};
  if (!snap[0]) return kBadFile;
  if (!(snap[1] = load_snapshot(b_path))) return kBadFile;
  Row *classes = nullptr, *sites = nullptr;
  size_t nclasses = 0, nsites = 0;
  bool have_sites[2] = {false, false};
  uint64_t total_blocks[2] = {0, 0}, total_bytes[2] = {0, 0};
  for (int s = 0; s < 2; ++s) {
    const JsonValue *cls = snap[s]->get("classes");
    for (size_t i = 0; cls && i < cls->count; ++i) {
      const JsonValue &c = cls->items[i];
      Row *r = row_for(&classes, &nclasses, c.str("kind", "?"), c.num("class"), nullptr);
      r->blocks[s] = c.num("live_blocks");
      r->bytes[s] = c.num("live_bytes");
      total_blocks[s] += r->blocks[s];
      total_bytes[s] += r->bytes[s];
    }
    const JsonValue *st = snap[s]->get("sites");
    have_sites[s] = st != nullptr;
    for (size_t i = 0; st && i < st->count; ++i) {
      char *name = site_name(st->items[i]);
      Row *r = row_for(&sites, &nsites, nullptr, 0, name);
      free(name);
      r->blocks[s] += st->items[i].num("blocks");
      r->bytes[s] += st->items[i].num("bytes");
    }
  }
  qsort(classes, nclasses, sizeof *classes, by_change);
  qsort(sites, nsites, sizeof *sites, by_change);
  printf("heap diff: %s (pid %" PRIu64 ") -> %s (pid %" PRIu64 ")\n", a_path, snap[0]->num("pid"), b_path,
         snap[1]->num("pid"));
  printf("live: %" PRIu64 " bytes in %" PRIu64 " blocks -> %" PRIu64 " bytes in %" PRIu64 " blocks (", total_bytes[0],
         total_blocks[0], total_bytes[1], total_blocks[1]);
  signed_column(static_cast<int64_t>(total_bytes[1] - total_bytes[0]), 0);
  printf(" bytes, ");
  signed_column(static_cast<int64_t>(total_blocks[1] - total_blocks[0]), 0);
  printf(" blocks)\n\nby class, biggest change first (blocks and bytes asked for; added: + , gone: -):\n");
  printf("kind     class    blocks A    blocks B      change       bytes A       bytes B        change\n");
  size_t shown = 0;
  for (size_t i = 0; i < nclasses; ++i) {
    const Row &r = classes[i];
    if (r.blocks[0] == r.blocks[1] && r.bytes[0] == r.bytes[1]) continue;
    ++shown;
    printf("%-6s", r.kind);
    if (r.size) printf("%8" PRIu64, r.size);
    else printf("%8s", "-");
    printf("%12" PRIu64 "%12" PRIu64, r.blocks[0], r.blocks[1]);
    signed_column(block_change(r), 12);
    printf("%14" PRIu64 "%14" PRIu64, r.bytes[0], r.bytes[1]);
    signed_column(change(r), 14);
    putchar('\n');
  }
  if (!shown) printf("(no class changed)\n");
  if (!have_sites[0] || !have_sites[1]) {
    printf("\nno call sites in %s: take both snapshots with --leaks (or a heap profile) for them\n",
           !have_sites[0] && !have_sites[1] ? "either snapshot" : !have_sites[0] ? a_path : b_path);
    return 0;
  }
  printf("\nby call site, biggest change first:\n");
  printf("   blocks A    blocks B      change       bytes A       bytes B        change  site\n");
  shown = 0;
  for (size_t i = 0; i < nsites; ++i) {
    const Row &r = sites[i];
    if (r.blocks[0] == r.blocks[1] && r.bytes[0] == r.bytes[1]) continue;
    ++shown;
    printf("%11" PRIu64 "%12" PRIu64, r.blocks[0], r.blocks[1]);
    signed_column(block_change(r), 12);
    printf("%14" PRIu64 "%14" PRIu64, r.bytes[0], r.bytes[1]);
    signed_column(change(r), 14);
    printf("  %s\n", r.site);
  }
  if (!shown) printf("(no call site changed)\n");
  return 0;
}

}  // namespace ft_heap
