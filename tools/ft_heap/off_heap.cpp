// The mappings behind off_heap.h: anonymous mmap, with its length kept in front for munmap.
#include "tools/ft_heap/off_heap.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

namespace ft_heap {

void *map_zeroed(size_t bytes) {
  size_t total = bytes + 16;  // the length, kept for unmap; 16 keeps the array aligned
  void *p = mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    fprintf(stderr, "ft_heap: out of memory for %zu bytes\n", bytes);
    exit(1);
  }
  *static_cast<size_t *>(p) = total;
  return static_cast<char *>(p) + 16;
}

void unmap(void *p) {
  if (!p) return;
  char *base = static_cast<char *>(p) - 16;
  munmap(base, *reinterpret_cast<size_t *>(base));
}

}  // namespace ft_heap
