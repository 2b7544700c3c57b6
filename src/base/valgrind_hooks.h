// make VALGRIND=1: ft_malloc tells memcheck what its blocks are, so that
// `valgrind --tool=memcheck` on a program linked with ft_malloc finds leaks, use after free and
// overflows as it does with glibc. Blocks are announced as malloc-like; the rest of a chunk and
// every free chunk are no-access. Under valgrind the thread cache is off (settings.cpp), so these
// hooks sit on the slow paths only. In a normal build they are empty.
#pragma once
#include <cstddef>

#ifdef FT_VALGRIND
#include <valgrind/memcheck.h>
#endif

namespace ft::vg {

#ifdef FT_VALGRIND
inline bool running() { return RUNNING_ON_VALGRIND; }
// A block of n bytes starts at p in a chunk of `room` bytes.
inline void on_alloc(void *p, size_t n, size_t room, bool zeroed) {
  VALGRIND_MALLOCLIKE_BLOCK(p, n, 0, zeroed);
  if (room > n) VALGRIND_MAKE_MEM_NOACCESS(static_cast<char *>(p) + n, room - n);
}
inline void on_resize(void *p, size_t old_n, size_t n, size_t room) {
  VALGRIND_RESIZEINPLACE_BLOCK(p, old_n, n, 0);
  if (room > n) VALGRIND_MAKE_MEM_NOACCESS(static_cast<char *>(p) + n, room - n);
}
inline void on_free(void *p) { VALGRIND_FREELIKE_BLOCK(p, 0); }
// The allocator itself is about to read or write a chunk's bytes (size codes, canaries, dumps).
inline void open(const void *p, size_t n) { VALGRIND_MAKE_MEM_DEFINED(p, n); }
inline void close(const void *p, size_t n) { VALGRIND_MAKE_MEM_NOACCESS(p, n); }
#else
inline bool running() { return false; }
inline void on_alloc(void *, size_t, size_t, bool) {}
inline void on_resize(void *, size_t, size_t, size_t) {}
inline void on_free(void *) {}
inline void open(const void *, size_t) {}
inline void close(const void *, size_t) {}
#endif

}  // namespace ft::vg
