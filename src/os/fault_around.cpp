#include "os/fault_around.h"
#include "base/compiler.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "os/mapping.h"

namespace ft::os {
namespace {

// libc's read-only data segments are 121 pages (glibc 2.36); an object with more is left alone.
constexpr size_t kMaxPages = 2048;
constexpr unsigned kMaxSegments = 4;
// Pagemap entries read at a time: 4 KiB of stack, 2 MiB of address space, so that libc's segments
// take a read each (64 at a time: 9 reads per scan, 21 system calls at start-up, 9 now).
constexpr size_t kBatch = 512;
constexpr uint64_t kPresent = uint64_t{1} << 63;
// The page is the file's own (in the page cache), not a private copy: a page a debugger wrote a
// breakpoint into, or one relocated, must never be dropped, as that would drop what was written.
constexpr uint64_t kFilePage = uint64_t{1} << 61;

struct Segment {
  uintptr_t start, end;  // page-aligned
};

// The object's program headers, from the ELF header its first segment maps (as ld.so maps every
// object). _dl_find_object is ld.so's: dl_iterate_phdr would itself fault in another window of
// libc's code.
struct Object {
  dl_find_object found;
  const ElfW(Phdr) *ph;
  unsigned phnum;
  uintptr_t base;
};

FT_CORE_TEXT bool find_object(const void *in_object, Object *o) {
  if (_dl_find_object(const_cast<void *>(in_object), &o->found) != 0 || !o->found.dlfo_link_map ||
      !o->found.dlfo_map_start)
    return false;
  auto *ehdr = static_cast<const ElfW(Ehdr) *>(o->found.dlfo_map_start);
  if (memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 || ehdr->e_phentsize != sizeof(ElfW(Phdr))) return false;
  if (ehdr->e_phoff + size_t{ehdr->e_phnum} * sizeof(ElfW(Phdr)) > page_size()) return false;  // not in the first page
  o->ph = reinterpret_cast<const ElfW(Phdr) *>(reinterpret_cast<uintptr_t>(ehdr) + ehdr->e_phoff);
  o->phnum = ehdr->e_phnum;
  o->base = o->found.dlfo_link_map->l_addr;
  return true;
}

bool read_only_load(const ElfW(Phdr) &ph) { return ph.p_type == PT_LOAD && !(ph.p_flags & PF_W); }

// The object's loaded read-only data segments (neither writable nor executable), page-aligned.
// Not its code: the windows of libc's code that start-up's calls fault in, every program faults
// in again at exit (the fork handlers' registration shares its page with _exit and with the
// unregistration that __cxa_finalize runs for every shared object), so dropping them saved
// nothing at the peak and cost a scan of 342 more pages twice and a fault at exit (a program
// that mallocs once: 0.89 -> 0.86 ms, 200 interleaved runs; peak RSS unchanged).
FT_CORE_TEXT unsigned read_only_data_segments(const void *in_object, Segment *out) {
  Object o;
  if (!find_object(in_object, &o)) return 0;
  unsigned n = 0;
  size_t pages = 0;
  for (unsigned k = 0; k < o.phnum; ++k) {
    if (!read_only_load(o.ph[k]) || (o.ph[k].p_flags & PF_X)) continue;
    uintptr_t start = (o.base + o.ph[k].p_vaddr) & ~(page_size() - 1);
    uintptr_t end = round_to_pages(o.base + o.ph[k].p_vaddr + o.ph[k].p_memsz);
    pages += (end - start) / page_size();
    if (n == kMaxSegments || pages > kMaxPages) return 0;
    out[n++] = Segment{start, end};
  }
  return n;
}

// Calls f(page index among all segments, address, pagemap entry) for every page of the segments.
// Inline, as drop_pages: a clone the compiler makes of a template (a .constprop one of
// drop_pages) does not keep FT_HOT_TEXT and ran from the cold text that start-up had just dropped.
template <typename F>
FT_INLINE bool each_page(int pagemap, const Segment *seg, unsigned n, F f) {
  size_t index = 0;
  for (unsigned s = 0; s < n; ++s)
    for (uintptr_t a = seg[s].start; a < seg[s].end;) {
      uint64_t entry[kBatch];
      size_t count = (seg[s].end - a) / page_size();
      if (count > kBatch) count = kBatch;
      off_t at = static_cast<off_t>(a / page_size() * sizeof(uint64_t));
      if (pread(pagemap, entry, count * sizeof(uint64_t), at) != static_cast<ssize_t>(count * sizeof(uint64_t)))
        return false;
      for (size_t k = 0; k < count; ++k, ++index, a += page_size()) f(index, a, entry[k]);
    }
  return true;
}

// Gives back (MADV_DONTNEED), by runs, the resident pages of the segments that are the file's
// own and for which drop(page index) holds. A run spans the pages of its segment that are not
// mapped (nothing to give back there) and stops at any other: libc's pages faulted in by
// start-up took 4 calls, 2 now.
template <typename F>
FT_INLINE void drop_pages(int pagemap, const Segment *seg, unsigned n, F drop) {
  uintptr_t run = 0, run_end = 0, next = 0;
  auto flush = [&] {
    if (run_end > run) madvise(reinterpret_cast<void *>(run), run_end - run, MADV_DONTNEED);
    run = run_end = 0;
  };
  each_page(pagemap, seg, n, [&](size_t i, uintptr_t a, uint64_t entry) {
    if (a != next) flush();  // another segment
    next = a + page_size();
    if (!(entry & kPresent)) return;
    if (!(entry & kFilePage) || !drop(i)) return flush();
    if (!run_end) run = a;
    run_end = a + page_size();
  });
  flush();
}

// The pages of the shared object's read-only segment that holds `at`, from `from` (rounded up)
// to the segment's end; false for the program itself (a static link's code is the program's) or
// when `at` lies in no such segment or `from` at its last page.
FT_CORE_TEXT bool segment_tail(const Object &o, const void *at, const void *from, Segment *tail) {
  const char *name = o.found.dlfo_link_map->l_name;
  if (!at || !name || !name[0]) return false;
  auto a = reinterpret_cast<uintptr_t>(at);
  for (unsigned k = 0; k < o.phnum; ++k) {
    uintptr_t start = o.base + o.ph[k].p_vaddr, end = start + o.ph[k].p_filesz;
    if (!read_only_load(o.ph[k]) || a < start || a > end) continue;
    uintptr_t f = reinterpret_cast<uintptr_t>(from);
    *tail = Segment{round_to_pages(f > start ? f : start), round_to_pages(end)};
    return tail->start < tail->end;
  }
  return false;
}

// Makes [first, last) a mapping of its own, so that the kernel's fault-around, which stops at a
// mapping's end, no longer reaches it from the pages before, nor them from it. MADV_RANDOM is
// what makes it a mapping apart (its flags then differ from its neighbours'), and says how it is
// read: seldom, a page here and there.
FT_CORE_TEXT void read_apart(uintptr_t first, uintptr_t last) {
  if (first < last) madvise(reinterpret_cast<void *>(first), last - first, MADV_RANDOM);
}

}  // namespace

FT_CORE_TEXT void call_dropping_faulted_pages(void (*call)(), const void *in_object) {
  int pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  Segment seg[kMaxSegments];
  unsigned n = pagemap >= 0 ? read_only_data_segments(in_object, seg) : 0;
  uint64_t before[kMaxPages / 64] = {};
  bool known = n && each_page(pagemap, seg, n, [&](size_t i, uintptr_t, uint64_t entry) {
                 if (entry & kPresent) before[i / 64] |= uint64_t{1} << (i % 64);
               });
  call();
  if (known) drop_pages(pagemap, seg, n, [&](size_t i) { return !(before[i / 64] >> (i % 64) & 1); });
  if (pagemap >= 0) close(pagemap);
}

FT_CORE_TEXT void set_apart_unwind_tables(const void *in_object) {
  Object o;
  Segment tail;
  if (find_object(in_object, &o) && segment_tail(o, o.found.dlfo_eh_frame, o.found.dlfo_eh_frame, &tail))
    read_apart(tail.start, tail.end);
}

// The warm text becomes the mapping apart (MADV_RANDOM); the cold text after it, then a mapping
// of its own too, keeps the default flags (the two would merge were both MADV_RANDOM). Without
// warm text, the cold is the one set apart.
FT_CORE_TEXT void set_apart_text(const void *core_end, const void *hot_end) {
  Object o;
  Segment tail;
  // The segment of the warm text's last byte, from the core text's end on (the core text's own
  // segment ends there, src/api/hot_text.ld; a link that made one segment of both, after it).
  const void *warm_last = hot_end > core_end ? static_cast<const char *>(hot_end) - 1 : core_end;
  if (!core_end || !find_object(core_end, &o) || !segment_tail(o, warm_last, core_end, &tail)) return;
  uintptr_t warm_end = round_to_pages(reinterpret_cast<uintptr_t>(hot_end));
  if (warm_end > tail.start && warm_end < tail.end) read_apart(tail.start, warm_end);
  else read_apart(tail.start, tail.end);
}

}  // namespace ft::os
