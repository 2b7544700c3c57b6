// The dumps of the heap, behind show_alloc_mem() and show_alloc_mem_ex() (src/malloc_api.cpp).
// Both read the heap through visit_heap() and write with write(2): no stdio, no allocation.
#pragma once

namespace ft {

void dump_heap(int fd);     // show_alloc_mem(): 42's format
void dump_heap_ex(int fd);  // show_alloc_mem_ex(): zones, free runs, hex dumps (README.md)

}  // namespace ft
