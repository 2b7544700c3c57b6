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
extern "C" {
#endif

void *malloc(size_t size);
void free(void *ptr);
void *calloc(size_t count, size_t size);
void *realloc(void *ptr, size_t size);
void *reallocarray(void *ptr, size_t count, size_t size);
void *memalign(size_t alignment, size_t size);
int posix_memalign(void **memptr, size_t alignment, size_t size);
void *aligned_alloc(size_t alignment, size_t size);
void *valloc(size_t size);
void *pvalloc(size_t size);
size_t malloc_usable_size(void *ptr);
void free_sized(void *ptr, size_t size);
void free_aligned_sized(void *ptr, size_t alignment, size_t size);

/* Prints every zone holding a block and each allocated block, in address order, on stdout:
 *   TINY : 0xA0000
 *   0xA0020 - 0xA004A : 42 bytes
 *   Total : 42 bytes
 * Sizes are those the program asked for. Safe to call from any thread; never allocates. */
void show_alloc_mem(void);

/* The detailed form: every zone with its class, size and occupancy, free runs as well as
 * blocks, and the first bytes of each block in hex. The format is documented in README.md. */
void show_alloc_mem_ex(void);

#ifdef __cplusplus
}
#endif

#endif
