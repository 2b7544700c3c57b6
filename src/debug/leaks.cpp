#include "debug/leaks.h"

#include <cstdint>
#include <cstring>

#include "base/heap_sort.h"
#include "base/line_writer.h"
#include "debug/frame_names.h"
#include "os/heap_lock.h"
#include "os/mapping.h"

namespace ft::leaks {
namespace {

constexpr size_t kInitialCapacity = 4096;

struct Record {
  uintptr_t block;  // 0: empty slot
  size_t size;
  uint32_t stack;   // in the stack table; 0: none could be stored
};

// Guarded by the heap lock.
constinit Record *g_table = nullptr;
constinit size_t g_capacity = 0;
constinit size_t g_count = 0;

size_t home(uintptr_t p, size_t cap) { return static_cast<size_t>((p >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1); }

bool grow() {
  size_t cap = g_capacity ? g_capacity * 2 : kInitialCapacity;
  auto *t = static_cast<Record *>(os::map(cap * sizeof(Record)));
  if (!t) return false;
  for (size_t i = 0; i < g_capacity; ++i) {
    if (!g_table[i].block) continue;
    size_t j = home(g_table[i].block, cap);
    while (t[j].block) j = (j + 1) & (cap - 1);
    t[j] = g_table[i];
  }
  if (g_table) os::unmap(g_table, g_capacity * sizeof(Record));
  g_table = t;
  g_capacity = cap;
  return true;
}

Record *find(uintptr_t p) {
  if (!g_count) return nullptr;
  for (size_t i = home(p, g_capacity);; i = (i + 1) & (g_capacity - 1)) {
    if (g_table[i].block == p) return &g_table[i];
    if (!g_table[i].block) return nullptr;
  }
}

}  // namespace

void prepare() { call_stack::prepare(); }

void record(void *p, size_t n, void *caller) {
  uintptr_t frames[call_stack::kMaxDepth];
  bool cut;
  unsigned depth = call_stack::capture(caller, frames, &cut);
  if (!depth) return;
  HeapLock lock;
  Record r{reinterpret_cast<uintptr_t>(p), n, stacks::note_alloc(frames, depth, cut, n)};
  if (Record *old = find(r.block)) {
    *old = r;
    return;
  }
  if ((g_count + 1) * 2 > g_capacity && !grow()) return;
  size_t i = home(r.block, g_capacity);
  while (g_table[i].block) i = (i + 1) & (g_capacity - 1);
  g_table[i] = r;
  ++g_count;
}

void forget(void *p) {
  HeapLock lock;
  Record *slot = find(reinterpret_cast<uintptr_t>(p));
  if (!slot) return;
  size_t hole = static_cast<size_t>(slot - g_table);
  for (size_t i = (hole + 1) & (g_capacity - 1); g_table[i].block; i = (i + 1) & (g_capacity - 1)) {
    size_t h = home(g_table[i].block, g_capacity);
    bool stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
    if (stays) continue;
    g_table[hole] = g_table[i];
    hole = i;
  }
  g_table[hole] = Record{};
  --g_count;
}

bool snapshot(Snapshot *s) {
  // Copied under the lock, named after it by the caller: dladdr takes the loader's lock, and a
  // thread holding that one may be waiting for ours.
  HeapLock lock;
  s->count = stacks::count();
  s->stacks = s->count ? static_cast<stacks::Stack *>(os::map(os::round_to_pages(s->count * sizeof(stacks::Stack))))
                       : nullptr;
  if (!s->stacks) {
    s->count = 0;
    return false;
  }
  for (uint32_t id = 1; id <= s->count; ++id) {
    s->stacks[id - 1] = stacks::at(id);
    s->stacks[id - 1].live_blocks = s->stacks[id - 1].live_bytes = 0;
  }
  for (size_t i = 0; i < g_capacity; ++i) {
    const Record &r = g_table[i];
    if (!r.block || !r.stack) continue;
    s->stacks[r.stack - 1].live_blocks++;
    s->stacks[r.stack - 1].live_bytes += r.size;
  }
  return true;
}

void release(Snapshot *s) {
  if (s->stacks) os::unmap(s->stacks, os::round_to_pages(s->count * sizeof(stacks::Stack)));
  s->stacks = nullptr;
  s->count = 0;
}

namespace {

unsigned site_depth(const stacks::Stack &s) { return s.depth < kSiteFrames ? s.depth : kSiteFrames; }

// Stacks in the order of their sites (the first kSiteFrames frames).
bool site_before(const stacks::Stack *a, const stacks::Stack *b) {
  unsigned da = site_depth(*a), db = site_depth(*b);
  int c = memcmp(a->frames, b->frames, (da < db ? da : db) * sizeof(uintptr_t));
  return c ? c < 0 : da < db;
}

bool same_site(const stacks::Stack *a, const stacks::Stack *b) { return !site_before(a, b) && !site_before(b, a); }

}  // namespace

size_t for_each_site(void (*fn)(const Site &site, void *ctx), void *ctx) {
  Snapshot snap;
  if (!snapshot(&snap)) return 0;
  size_t order_bytes = os::round_to_pages(snap.count * sizeof(stacks::Stack *));
  size_t sites_bytes = os::round_to_pages(snap.count * sizeof(Site));
  auto **order = static_cast<stacks::Stack **>(os::map(order_bytes));
  auto *sites = static_cast<Site *>(os::map(sites_bytes));
  size_t n = 0, count = 0;
  for (size_t i = 0; order && sites && i < snap.count; ++i)
    if (snap.stacks[i].live_blocks) order[n++] = &snap.stacks[i];
  heap_sort(order, n, site_before);
  for (size_t i = 0; i < n; ++i) {
    if (!count || !same_site(order[i], order[i - 1]))
      sites[count++] = Site{order[i]->frames, site_depth(*order[i]), 0, 0};
    sites[count - 1].bytes += order[i]->live_bytes;
    sites[count - 1].blocks += order[i]->live_blocks;
  }
  heap_sort(sites, count, [](const Site &a, const Site &b) { return a.bytes > b.bytes; });
  for (size_t i = 0; i < count; ++i) fn(sites[i], ctx);
  if (order) os::unmap(order, order_bytes);
  if (sites) os::unmap(sites, sites_bytes);
  release(&snap);
  return count;
}

void write_site(LineWriter &out, const Site &site) {
  for (unsigned f = 0; f < site.depth; ++f) {
    if (f) out.str(" <- ");
    frames::write(out, site.frames[f], frames::Style::kSite);
  }
}

namespace {

void grouped(LineWriter &out, uint64_t v) {
  char digits[32];
  int n = 0;
  do {
    if (n % 4 == 3) digits[n++] = ',';
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out.ch(digits[--n]);
}

struct Report {
  LineWriter *out;
  uint64_t bytes, blocks;
};

void report_site(const Site &site, void *ctx) {
  auto *r = static_cast<Report *>(ctx);
  LineWriter &out = *r->out;
  grouped(out, site.bytes);
  out.str(site.bytes == 1 ? " byte in " : " bytes in ").dec(site.blocks);
  out.str(site.blocks == 1 ? " block allocated at " : " blocks allocated at ");
  write_site(out, site);
  out.ch('\n');
  r->bytes += site.bytes;
  r->blocks += site.blocks;
}

}  // namespace

size_t report(int fd) {
  LineWriter out(fd);
  Report r{&out, 0, 0};
  size_t sites = for_each_site(report_site, &r);
  out.str("ft_malloc: leaks: ");
  grouped(out, r.bytes);
  out.str(" bytes in ").dec(r.blocks).str(" blocks from ").dec(sites).str(" call sites\n");
  return r.bytes;
}

}  // namespace ft::leaks
