// File pages that the kernel's fault-around maps into the program and that it never uses.
//
// A read fault on a file mapping maps every page of the file's page cache within the faulting
// address's 64 KiB window (and the mapping), not the page alone. Two kinds of such pages were
// measured in every preloaded program (/proc/self/pagemap, 25 runs of a 100,000-pair program):
// - libc's: start-up's one call into parts of libc a program may never run, the fork handlers'
//   registration above all, faulted in a window of libc's code and one of its read-only data
//   (32 pages in a program that does nothing else): peak RSS of 100,000 malloc/free pairs 1642
//   -> 1560 KiB once dropped (40 runs; glibc 1354). Its read-only data only since the twelfth
//   round: every program faults the code's window in again at exit (read_only_data_segments).
//   Found with /proc/self/pagemap before and after the call (call_dropping_faulted_pages);
// - our own unwind tables: .eh_frame shares the read-only segment with .rodata, so the first
//   constant read mapped 5 pages of tables that only a backtrace through our frames reads:
//   1555 -> 1534 KiB once set apart (30 runs);
// - our own cold code: running malloc mapped the whole 64 KiB window around it, reports,
//   statistics and debug modes included. The code programs run after start-up is linked first
//   (FT_HOT_TEXT, src/api/hot_text.ld) and the rest made a mapping apart at the start of
//   start-up: 11 pages of code resident, not 16; 1557 -> 1519 KiB (25 runs; glibc 1313).
// - our own warm code: of those 11 pages, a program that only mallocs, callocs and frees in one
//   thread runs 5 (FT_CORE_TEXT, linked first); realloc, aligned blocks, LARGE blocks, threads
//   and fork are a mapping of their own after them, faulted in by the programs that use them.
//   Since the thirteenth round the core text is a segment of its own: malloc's first fault
//   maps none of the rest, and start-up has nothing to find and drop.
// Start-up reads /proc/self/pagemap for libc's pages alone: start_slow took 75-80 us, now 67 (the
// thirteenth round, rdtsc inside, medians of 15). The splits come first at start-up, before the
// segments' first reads.
#pragma once

namespace ft::os {

// Runs call(), then drops (MADV_DONTNEED) the pages of the read-only data segments of the object
// that holds `in_object` which were not resident before the call and are now, if they are the
// file's own (/proc/self/pagemap's file-page bit: never a private copy): a later access faults
// them in again. Read-write segments are left alone (what the call wrote is there), and so is the
// code (fault_around.cpp says why). Without /proc/self/pagemap, call() runs and nothing is
// dropped. (MADV_RANDOM around the call does not do: the kernel maps a whole large folio of the
// page cache on a read fault, fault-around or not: 64 KiB of libc's constants stayed resident in
// every program, the thirteenth round measured.)
void call_dropping_faulted_pages(void (*call)(), const void *in_object);

// Makes the whole pages of the unwind tables (.eh_frame_hdr and .eh_frame, the end of the
// read-only data segment) of the shared object that holds `in_object` a mapping of their own,
// so that reading .rodata never maps them. Before the segment's first read: dropping them
// afterwards would not lower the peak RSS, as the kernel notes the high-water mark before each
// MADV_DONTNEED. Nothing in a program linked statically.
void set_apart_unwind_tables(const void *in_object);

// Makes the code of the shared object after its core text (core_end, src/api/hot_text.ld) two
// mappings of their own, the warm text up to hot_end and the cold text after it: code that runs
// later then faults in windows of its own part only. The core text is a segment of its own, so
// that malloc's first run mapped none of their pages (there is nothing to drop). Nothing when
// core_end is null (a static link: the archive's objects are the program's code).
void set_apart_text(const void *core_end, const void *hot_end);

}  // namespace ft::os
