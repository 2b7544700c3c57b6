#include "os/fault_around.h"
#include "base/compiler.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "os/mapping.h"

namespace ft::os {
namespace {

constexpr unsigned kMaxSegments = 4;

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
// unregistration that __cxa_finalize runs for every shared object).
FT_CORE_TEXT unsigned read_only_data_segments(const void *in_object, Segment *out) {
  Object o;
  if (!find_object(in_object, &o)) return 0;
  unsigned n = 0;
  for (unsigned k = 0; k < o.phnum && n < kMaxSegments; ++k) {
    if (!read_only_load(o.ph[k]) || (o.ph[k].p_flags & PF_X)) continue;
    uintptr_t start = (o.base + o.ph[k].p_vaddr) & ~(page_size() - 1);
    out[n++] = Segment{start, round_to_pages(o.base + o.ph[k].p_vaddr + o.ph[k].p_memsz)};
  }
  return n;
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

FT_CORE_TEXT void call_reading_apart(void (*call)(), const void *in_object) {
  Segment seg[kMaxSegments];
  unsigned n = read_only_data_segments(in_object, seg);
  for (unsigned k = 0; k < n; ++k) read_apart(seg[k].start, seg[k].end);
  call();
  // MADV_NORMAL: the segments' flags as they were, and their mappings merged back into one.
  for (unsigned k = 0; k < n; ++k)
    madvise(reinterpret_cast<void *>(seg[k].start), seg[k].end - seg[k].start, MADV_NORMAL);
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
