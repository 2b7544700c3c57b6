// show_alloc_mem() and show_alloc_mem_ex() captured into a memfd and parsed, for the fuzzing
// harness (fuzz_heap.h): every line's format, the order, the total, and the harness's blocks.
#include "fuzz_heap.h"

#include <cstdio>
#include <cstring>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fuzz_heap {

int g_memfd = -1;

struct DumpBlock {
  uintptr_t start, end;
  size_t size;
  unsigned nbytes;        // _ex: bytes shown in hex
  unsigned char bytes[16];
};

DumpBlock *g_blocks;
size_t g_blocks_cap, g_blocks_count;

// Grows the block table with mmap: parsing allocates nothing.
void push_block(const DumpBlock &b) {
  if (g_blocks_count == g_blocks_cap) {
    size_t cap = g_blocks_cap ? g_blocks_cap * 2 : 65536;
    void *m = mmap(nullptr, cap * sizeof(DumpBlock), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) fail("mmap for the dump failed");
    if (g_blocks) {
      memcpy(m, g_blocks, g_blocks_count * sizeof(DumpBlock));
      munmap(g_blocks, g_blocks_cap * sizeof(DumpBlock));
    }
    g_blocks = static_cast<DumpBlock *>(m);
    g_blocks_cap = cap;
  }
  g_blocks[g_blocks_count++] = b;
}

// Runs the dump with stdout on the memfd; returns a read-only mapping of what it wrote.
const char *capture(bool ex, size_t *len) {
  fflush(stdout);
  if (ftruncate(g_memfd, 0) || lseek(g_memfd, 0, SEEK_SET) != 0) fail("memfd reset failed");
  int saved = dup(STDOUT_FILENO);
  if (saved < 0 || dup2(g_memfd, STDOUT_FILENO) < 0) fail("dup2 failed");
  if (ex) show_alloc_mem_ex();
  else show_alloc_mem();
  if (dup2(saved, STDOUT_FILENO) < 0) fail("dup2 back failed");
  close(saved);
  struct stat st;
  if (fstat(g_memfd, &st)) fail("fstat failed");
  *len = static_cast<size_t>(st.st_size);
  if (!*len) fail("show_alloc_mem%s wrote nothing", ex ? "_ex" : "");
  void *m = mmap(nullptr, *len, PROT_READ, MAP_SHARED, g_memfd, 0);
  if (m == MAP_FAILED) fail("mmap of the dump failed");
  return static_cast<const char *>(m);
}

struct Cursor {
  const char *p, *end;
  bool lit(const char *s) {
    size_t n = strlen(s);
    if (static_cast<size_t>(end - p) < n || memcmp(p, s, n)) return false;
    p += n;
    return true;
  }
  // "0x" then upper-case hex digits.
  bool hex(uintptr_t *out) {
    if (!lit("0x")) return false;
    uintptr_t v = 0;
    const char *start = p;
    for (; p < end && ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')); ++p) {
      if (p - start >= 16) return false;
      v = v << 4 | static_cast<uintptr_t>(*p <= '9' ? *p - '0' : *p - 'A' + 10);
    }
    *out = v;
    return p > start;
  }
  bool dec(size_t *out) {
    size_t v = 0;
    const char *start = p;
    for (; p < end && *p >= '0' && *p <= '9'; ++p) {
      if (p - start >= 20) return false;
      v = v * 10 + static_cast<size_t>(*p - '0');
    }
    *out = v;
    return p > start;
  }
  bool hexbyte(unsigned char *out) {
    if (end - p < 2) return false;
    unsigned v = 0;
    for (int i = 0; i < 2; ++i) {
      char c = p[i];
      if (c >= '0' && c <= '9') v = v * 16 + static_cast<unsigned>(c - '0');
      else if (c >= 'A' && c <= 'F') v = v * 16 + static_cast<unsigned>(c - 'A' + 10);
      else return false;
    }
    p += 2;
    *out = static_cast<unsigned char>(v);
    return true;
  }
  bool eol() { return p == end; }
};

[[noreturn]] void bad_line(const char *why, const char *line, const char *end) {
  int n = static_cast<int>(end - line > 200 ? 200 : end - line);
  fail("show_alloc_mem: %s: \"%.*s\"", why, n, line);
}

// Parses a dump into g_blocks (checking every line's format, the order and the total).
NO_COV void parse_dump(const char *text, size_t len, bool ex) {
  g_blocks_count = 0;
  const char *line = text, *stop = text + len;
  if (text[len - 1] != '\n') bad_line("does not end with a newline", text + (len > 80 ? len - 80 : 0), stop);
  size_t sum = 0;
  bool total_seen = false;
  uintptr_t last_zone = 0;
  while (line < stop) {
    const char *nl = static_cast<const char *>(memchr(line, '\n', static_cast<size_t>(stop - line)));
    Cursor c{line, nl};
    if (total_seen) bad_line("a line after the total", line, nl);
    uintptr_t a;
    if (c.lit("TINY : ") || c.lit("SMALL : ") || c.lit("LARGE : ")) {
      if (!c.hex(&a)) bad_line("bad zone address", line, nl);
      if (!ex && !c.eol()) bad_line("junk after the zone address", line, nl);
      if (ex && !c.lit(" ")) bad_line("bad zone line", line, nl);
      if (a < last_zone) bad_line("zones not in address order", line, nl);
      if (g_blocks_count && a < g_blocks[g_blocks_count - 1].end) bad_line("zone starts inside the previous block", line, nl);
      last_zone = a;
    } else if (c.lit("Total : ")) {
      size_t t;
      if (!c.dec(&t) || !c.lit(" bytes")) bad_line("bad total line", line, nl);
      if (t != sum) fail("show_alloc_mem: total %zu bytes, but the blocks listed sum to %zu", t, sum);
      if (ex) {
        size_t nblocks;
        if (!c.lit(" in ") || !c.dec(&nblocks) || !c.lit(" blocks; ")) bad_line("bad total line", line, nl);
        if (nblocks != g_blocks_count) fail("show_alloc_mem_ex: total says %zu blocks, %zu listed", nblocks, g_blocks_count);
      } else if (!c.eol()) {
        bad_line("junk after the total", line, nl);
      }
      total_seen = true;
    } else {
      DumpBlock b{};
      if (!c.hex(&b.start) || !c.lit(" - ") || !c.hex(&b.end) || !c.lit(" : ")) bad_line("unknown line", line, nl);
      if (ex && c.lit("free, ")) {  // a run of free chunks
        size_t chunks;
        if (!c.dec(&chunks) || !c.lit(" chunks") || !c.eol()) bad_line("bad free run", line, nl);
        if (b.end <= b.start) bad_line("empty free run", line, nl);
        line = nl + 1;
        continue;
      }
      if (!c.dec(&b.size) || !c.lit(" bytes")) bad_line("bad block line", line, nl);
      if (ex && !c.eol()) {
        if (!c.lit("  ")) bad_line("bad bytes after a block", line, nl);
        while (b.nbytes < 16 && c.hexbyte(&b.bytes[b.nbytes])) {
          ++b.nbytes;
          if (!c.lit(" ")) break;
        }
        // then " |ascii|" (the last byte's separator was eaten above)
        if (!c.lit(" |") && !c.lit("|")) bad_line("bad bytes after a block", line, nl);
      } else if (!c.eol()) {
        bad_line("junk after a block", line, nl);
      }
      if (b.end != b.start + b.size) bad_line("end != start + size", line, nl);
      if (!last_zone || b.start < last_zone) bad_line("block before its zone", line, nl);
      if (g_blocks_count) {
        const DumpBlock &prev = g_blocks[g_blocks_count - 1];
        if (b.start <= prev.start) bad_line("blocks not in increasing address order", line, nl);
        if (b.start < prev.end) bad_line("block overlaps the previous one", line, nl);
      }
      sum += b.size;
      push_block(b);
    }
    line = nl + 1;
  }
  if (!total_seen) fail("show_alloc_mem: no total line");
}

NO_COV const DumpBlock *find_block(uintptr_t start) {
  size_t lo = 0, hi = g_blocks_count;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (g_blocks[mid].start < start) lo = mid + 1;
    else hi = mid;
  }
  return lo < g_blocks_count && g_blocks[lo].start == start ? &g_blocks[lo] : nullptr;
}

void check_dump(bool ex) {
  size_t len;
  const char *text = capture(ex, &len);
  parse_dump(text, len, ex);
  const char *name = ex ? "show_alloc_mem_ex" : "show_alloc_mem";
  for (unsigned s = 0; s < kSlots; ++s) {
    const Slot &b = g_slot[s];
    if (!b.p) continue;
    uintptr_t a = reinterpret_cast<uintptr_t>(b.p);
    const DumpBlock *d = find_block(a);
    if (!d) fail("%s does not list the live block %p (%zu bytes)", name, static_cast<void *>(b.p), b.size);
    if (d->size != b.size) fail("%s lists %p with %zu bytes, asked %zu", name, static_cast<void *>(b.p), d->size, b.size);
    if (ex) {
      unsigned want = b.size < 16 ? static_cast<unsigned>(b.size) : 16;
      if (d->nbytes != want) fail("%s shows %u bytes of %p, not %u", name, d->nbytes, static_cast<void *>(b.p), want);
      for (unsigned i = 0; i < want; ++i)
        if (d->bytes[i] != b.p[i])
          fail("%s shows byte %u of %p as %02X, it is %02X", name, i, static_cast<void *>(b.p), d->bytes[i], b.p[i]);
    }
  }
  for (unsigned i = 0; i < g_freed_count; ++i)
    if (const DumpBlock *d = find_block(g_freed[i]))
      fail("%s lists 0x%lX (%zu bytes), which the harness freed", name, g_freed[i], d->size);
  munmap(const_cast<char *>(text), len);
}

void init_dump() {
  g_memfd = memfd_create("fuzz_heap_dump", MFD_CLOEXEC);
  if (g_memfd < 0) fail("memfd_create failed");
}

}  // namespace fuzz_heap
