/*
 * ft_malloc: a malloc replacement with TINY/SMALL zones and per-block LARGE mappings.
 *
 * Link with `-L<dir> -lft_malloc` (C or C++), or preload libft_malloc_<HOSTTYPE>.so.
 * Every function below is exported under its libc name and follows glibc's semantics.
 */
#ifndef FT_MALLOC_H
#define FT_MALLOC_H

#include <stddef.h>

#ifdef __cplusplus
/* The same exception specification as glibc's declarations, so both headers can be included. */
#define FT_MALLOC_NOEXCEPT noexcept
extern "C" {
#else
#define FT_MALLOC_NOEXCEPT
#endif

void *malloc(size_t size) FT_MALLOC_NOEXCEPT;
void free(void *ptr) FT_MALLOC_NOEXCEPT;
void *calloc(size_t count, size_t size) FT_MALLOC_NOEXCEPT;
void *realloc(void *ptr, size_t size) FT_MALLOC_NOEXCEPT;
void *reallocarray(void *ptr, size_t count, size_t size) FT_MALLOC_NOEXCEPT;
void *memalign(size_t alignment, size_t size) FT_MALLOC_NOEXCEPT;
int posix_memalign(void **memptr, size_t alignment, size_t size) FT_MALLOC_NOEXCEPT;
void *aligned_alloc(size_t alignment, size_t size) FT_MALLOC_NOEXCEPT;
void *valloc(size_t size) FT_MALLOC_NOEXCEPT;
void *pvalloc(size_t size) FT_MALLOC_NOEXCEPT;
size_t malloc_usable_size(void *ptr) FT_MALLOC_NOEXCEPT;
void free_sized(void *ptr, size_t size) FT_MALLOC_NOEXCEPT;
void free_aligned_sized(void *ptr, size_t alignment, size_t size) FT_MALLOC_NOEXCEPT;
void cfree(void *ptr) FT_MALLOC_NOEXCEPT;

/* Prints every zone holding a block and each allocated block, in address order, on stdout:
 *   TINY : 0xA0000
 *   0xA0020 - 0xA004A : 42 bytes
 *   Total : 42 bytes
 * Sizes are those the program asked for. Safe to call from any thread; never allocates. */
void show_alloc_mem(void) FT_MALLOC_NOEXCEPT;

/* The detailed form: every zone with its class, size and occupancy, free runs as well as
 * blocks, and the first bytes of each block in hex. The format is documented in README.md. */
void show_alloc_mem_ex(void) FT_MALLOC_NOEXCEPT;

/* Walks the whole heap and verifies every zone header, bitmap and count, and, when the program
 * runs with FT_MALLOC_CHECK=1, the canary after every block. Reports the first damage on stderr
 * (`ft_malloc: ft_malloc_check(): heap overflow 0x... (...)`) and returns the number of problems
 * found: 0 when the heap is sound. */
int ft_malloc_check(void) FT_MALLOC_NOEXCEPT;

#ifdef __cplusplus
}
#endif

#endif
