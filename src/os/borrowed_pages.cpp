#include "os/borrowed_pages.h"

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

// libc's read-only segments are 463 pages (glibc 2.36); an object with more is left alone.
constexpr size_t kMaxPages = 2048;
constexpr unsigned kMaxSegments = 4;
// Pagemap entries read at a time: 512 bytes of stack.
constexpr size_t kBatch = 64;
constexpr uint64_t kPresent = uint64_t{1} << 63;

struct Segment {
  uintptr_t start, end;  // page-aligned
};

// The object's loaded read-only segments, found from its program headers (the first segment maps
// the ELF header, as ld.so maps every object). _dl_find_object is ld.so's: dl_iterate_phdr
// would itself fault in another window of libc's code.
unsigned read_only_segments(const void *in_object, Segment *out) {
  dl_find_object found;
  if (_dl_find_object(const_cast<void *>(in_object), &found) != 0 || !found.dlfo_link_map || !found.dlfo_map_start)
    return 0;
  uintptr_t base = found.dlfo_link_map->l_addr;
  auto *ehdr = static_cast<const ElfW(Ehdr) *>(found.dlfo_map_start);
  if (memcmp(ehdr->e_ident, ELFMAG, SELFMAG) != 0 || ehdr->e_phentsize != sizeof(ElfW(Phdr))) return 0;
  uintptr_t mapped = reinterpret_cast<uintptr_t>(found.dlfo_map_start);
  if (ehdr->e_phoff + size_t{ehdr->e_phnum} * sizeof(ElfW(Phdr)) > page_size()) return 0;  // not in the first page
  auto *ph = reinterpret_cast<const ElfW(Phdr) *>(mapped + ehdr->e_phoff);
  unsigned n = 0;
  size_t pages = 0;
  for (unsigned k = 0; k < ehdr->e_phnum; ++k) {
    if (ph[k].p_type != PT_LOAD || (ph[k].p_flags & PF_W)) continue;
    uintptr_t start = (base + ph[k].p_vaddr) & ~(page_size() - 1);
    uintptr_t end = round_to_pages(base + ph[k].p_vaddr + ph[k].p_memsz);
    pages += (end - start) / page_size();
    if (n == kMaxSegments || pages > kMaxPages) return 0;
    out[n++] = Segment{start, end};
  }
  return n;
}

// Calls f(page index among all segments, address, present) for every page of the segments.
template <typename F>
bool each_page(int pagemap, const Segment *seg, unsigned n, F f) {
  size_t index = 0;
  for (unsigned s = 0; s < n; ++s)
    for (uintptr_t a = seg[s].start; a < seg[s].end;) {
      uint64_t entry[kBatch];
      size_t count = (seg[s].end - a) / page_size();
      if (count > kBatch) count = kBatch;
      off_t at = static_cast<off_t>(a / page_size() * sizeof(uint64_t));
      if (pread(pagemap, entry, count * sizeof(uint64_t), at) != static_cast<ssize_t>(count * sizeof(uint64_t)))
        return false;
      for (size_t k = 0; k < count; ++k, ++index, a += page_size()) f(index, a, (entry[k] & kPresent) != 0);
    }
  return true;
}

}  // namespace

void call_dropping_faulted_pages(void (*call)(), const void *in_object) {
  Segment seg[kMaxSegments];
  unsigned n = read_only_segments(in_object, seg);
  int pagemap = n ? open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC) : -1;
  uint64_t before[kMaxPages / 64] = {};
  bool known = pagemap >= 0 && each_page(pagemap, seg, n, [&](size_t i, uintptr_t, bool present) {
                 if (present) before[i / 64] |= uint64_t{1} << (i % 64);
               });
  call();
  if (known) {
    // Runs of pages that came in, dropped one run at a time.
    uintptr_t run = 0, run_end = 0;
    auto drop = [&] {
      if (run_end > run) madvise(reinterpret_cast<void *>(run), run_end - run, MADV_DONTNEED);
      run = run_end = 0;
    };
    each_page(pagemap, seg, n, [&](size_t i, uintptr_t a, bool present) {
      bool came_in = present && !(before[i / 64] >> (i % 64) & 1);
      if (!came_in) return drop();
      if (a != run_end) drop(), run = a;
      run_end = a + page_size();
    });
    drop();
  }
  if (pagemap >= 0) close(pagemap);
}

}  // namespace ft::os
