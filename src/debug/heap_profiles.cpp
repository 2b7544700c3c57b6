#include "debug/heap_profiles.h"

#include <fcntl.h>
#include <unistd.h>

#include "base/heap_sort.h"
#include "base/line_writer.h"
#include "debug/frame_names.h"
#include "debug/leaks.h"
#include "os/mapping.h"

namespace ft::profiles {
namespace {

using stacks::Stack;
constexpr unsigned kDepth = call_stack::kMaxDepth;

// A stack as a flame graph sees it: its frames' functions (frames::function_key), so that two
// call sites in one function make one box; the stacks that name the same functions are one line.
struct Folded {
  uintptr_t keys[kDepth];
  const Stack *stack;
  uint64_t value;
  unsigned depth;
};

bool folded_before(const Folded &a, const Folded &b) {
  for (unsigned i = 0; i < a.depth && i < b.depth; ++i)
    if (a.keys[i] != b.keys[i]) return a.keys[i] < b.keys[i];
  if (a.depth != b.depth) return a.depth < b.depth;
  return a.stack->cut < b.stack->cut;
}

bool same_functions(const Folded &a, const Folded &b) { return !folded_before(a, b) && !folded_before(b, a); }

// The root of the stacks cut at kMaxDepth frames: one box for all of them in a flame graph.
constexpr char kCutRoot[] = "[deeper frames not recorded]";

void write_folded_line(LineWriter &out, const Folded &f) {
  if (f.stack->cut) out.str(kCutRoot).ch(';');
  for (unsigned i = f.depth; i-- > 0;) {  // root (outermost) first
    frames::write(out, f.stack->frames[i], frames::Style::kFunction);
    if (i) out.ch(';');
  }
  out.ch(' ').dec(f.value).ch('\n');
}

void write_folded_by(int fd, bool allocated) {
  LineWriter out(fd);
  leaks::Snapshot snap;
  if (!leaks::snapshot(&snap)) return;
  size_t bytes = os::round_to_pages(snap.count * sizeof(Folded));
  auto *lines = static_cast<Folded *>(os::map(bytes));
  size_t n = 0;
  for (size_t i = 0; lines && i < snap.count; ++i) {
    const Stack &s = snap.stacks[i];
    uint64_t v = allocated ? s.alloc_bytes : s.live_bytes;
    if (!v && !(allocated && s.allocs)) continue;  // malloc(0) still shows as an allocation
    Folded &f = lines[n++];
    f.stack = &s;
    f.value = v;
    f.depth = s.depth;
    for (unsigned k = 0; k < s.depth; ++k) f.keys[k] = frames::function_key(s.frames[k]);
  }
  heap_sort(lines, n, folded_before);
  for (size_t i = 0; i < n;) {
    Folded merged = lines[i];
    size_t j = i + 1;
    for (; j < n && same_functions(lines[j], lines[i]); ++j) merged.value += lines[j].value;
    write_folded_line(out, merged);
    i = j;
  }
  if (lines) os::unmap(lines, bytes);
  leaks::release(&snap);
}

// gperftools' "%6d: %8d [%6d: %8d] @" (heap-profile-table.cc), which its pprof parses.
void pad(LineWriter &out, uint64_t v, unsigned width) {
  unsigned digits = 1;
  for (uint64_t t = v; t >= 10; t /= 10) ++digits;
  for (; digits < width; ++digits) out.ch(' ');
  out.dec(v);
}

void counts(LineWriter &out, uint64_t live_blocks, uint64_t live_bytes, uint64_t allocs, uint64_t bytes) {
  pad(out, live_blocks, 6);
  out.str(": ");
  pad(out, live_bytes, 8);
  out.str(" [");
  pad(out, allocs, 6);
  out.str(": ");
  pad(out, bytes, 8);
  out.str("] @");
}

}  // namespace

void write_folded(int fd) { write_folded_by(fd, false); }
void write_folded_alloc(int fd) { write_folded_by(fd, true); }

void write_pprof(int fd) {
  LineWriter out(fd);
  leaks::Snapshot snap;
  leaks::snapshot(&snap);
  uint64_t t[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < snap.count; ++i) {
    const Stack &s = snap.stacks[i];
    t[0] += s.live_blocks, t[1] += s.live_bytes, t[2] += s.allocs, t[3] += s.alloc_bytes;
  }
  out.str("heap profile: ");
  counts(out, t[0], t[1], t[2], t[3]);
  out.str(" heapprofile\n");
  for (size_t i = 0; i < snap.count; ++i) {
    const Stack &s = snap.stacks[i];
    counts(out, s.live_blocks, s.live_bytes, s.allocs, s.alloc_bytes);
    // pprof takes the first address as a pc and the others as return addresses (it subtracts 1
    // from those): ours are all return addresses, so the first is made the call's own.
    for (unsigned k = 0; k < s.depth; ++k) out.ch(' ').hex(k ? s.frames[k] : s.frames[k] - 1, false);
    out.ch('\n');
  }
  leaks::release(&snap);
  // Where each module was loaded: pprof finds the symbols of the addresses there.
  out.str("\nMAPPED_LIBRARIES:\n");
  int maps = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
  if (maps < 0) return;
  char buf[1024];
  ssize_t got;
  while ((got = read(maps, buf, sizeof buf - 1)) > 0) {
    buf[got] = 0;
    out.str(buf);
  }
  close(maps);
}

}  // namespace ft::profiles
