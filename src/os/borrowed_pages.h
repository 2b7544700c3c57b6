// Pages of another object that one call of ours faults in and the program would never have.
//
// The kernel maps a file's pages 64 KiB at a time (fault-around): a call into a part of libc the
// program never runs makes a whole window of libc's code, and another of its read-only data,
// resident in the program. Registering the fork handlers at start-up is such a call: measured
// with /proc/self/pagemap, __register_atfork alone made 32 pages of libc resident in a program
// that does nothing else, and 18.5 on average (74 KiB) in preloaded programs of 1,000 mallocs,
// a quarter of ft_malloc's whole excess over glibc's peak RSS in small programs.
#pragma once

namespace ft::os {

// Runs call(), then drops (MADV_DONTNEED) the pages of the read-only segments of the object that
// holds `in_object` which were not resident before the call and are now. Those are the file's
// own, never written: a later access faults them in again. Read-write segments are left alone
// (what the call wrote is there). Without /proc/self/pagemap, call() runs and nothing is dropped.
void call_dropping_faulted_pages(void (*call)(), const void *in_object);

}  // namespace ft::os
