// The only door to the kernel's virtual memory: every mmap, munmap, mremap, mprotect and madvise
// of the allocator goes through here (the call log and the rescue allocator map their own pages
// with raw system calls, so that those never count among the heap's, nor fail under the tests'
// fault injection).
//
// The contract: lengths are multiples of the page size (round_to_pages); map() returns fresh,
// zero-filled, read-write, private anonymous pages or nullptr when the system refuses (errno is
// the kernel's); nothing here takes the heap lock or allocates.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ft::os {

// Read once by init (getpagesize() never allocates). Until then, the common 4 KiB.
extern size_t g_page_size;
inline size_t page_size() { return g_page_size; }
inline size_t round_to_pages(size_t n) { return (n + g_page_size - 1) & ~(g_page_size - 1); }

// The memory one page-table page maps (2 MiB with 4 KiB pages). A range moved (mremap) by whole
// ones from a start on one to another keeps its page-table pages; the kernel starts anonymous
// mappings of whole ones on one (Linux 6.12 on, for huge pages), mremap's new places too.
inline size_t table_span() { return g_page_size * (g_page_size / sizeof(void *)); }

void init_page_size();
// Fresh, zero-filled, read-write anonymous pages; nullptr when the system refuses.
void *map(size_t len);
// As map(), with the start aligned to `align` (a power of two >= page size): maps more, trims the ends.
void *map_aligned(size_t len, size_t align);
void unmap(void *p, size_t len);
// Grows or shrinks a mapping, moving it if needed (the kernel moves page tables, not bytes).
void *remap(void *p, size_t old_len, size_t new_len);
// Moves the pages of [from, from + len) onto [to, to + len), a mapped range of ours whose own
// pages go (the kernel moves page tables, not bytes; `from` is unmapped). False when the system
// refuses (a range of several of its areas moves from Linux 6.17 on only): nothing moved, and
// [to, to + len) still mapped (mapped again, fresh, where the kernel unmapped it before
// refusing), unless even that failed: *to_lost then.
bool move_to(void *from, size_t len, void *to, bool *to_lost);
// Moves the pages of [p, p + len) to a new place of the kernel's choosing (their page tables,
// not their bytes); [p, p + len) stays mapped and reads as zero. nullptr when the system refuses
// (MREMAP_DONTUNMAP: Linux 5.7), the range spans two of its areas, or its pages are locked:
// nothing moved. The area the pages leave loses its commit charge (VM_ACCOUNT: the moved pages
// take it), which only a strict overcommit policy would notice.
void *move_pages(void *p, size_t len);
// Gives the pages back; they read as zero on next touch.
void purge(void *p, size_t len);
// Writes in the page tables for [p, p + len) at once (MADV_POPULATE_WRITE, Linux 5.14; a no-op
// before, and errno kept): one system call instead of a page fault per page about to be written.
void prefault(void *p, size_t len);
// Whether every page of [p, p + len) (page aligned) is resident (mincore: written, or asked for
// by prefault); false when the system cannot say.
bool all_resident(void *p, size_t len);
// Makes pages fault on any access (FT_MALLOC_GUARD).
void protect_none(void *p, size_t len);

// Test builds only (FT_FAULT_INJECTION): the next `skip` mappings succeed, then `count` fail.
void fail_maps(unsigned long skip, unsigned long count);

}  // namespace ft::os
