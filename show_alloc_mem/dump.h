// The dumps of the heap, behind show_alloc_mem() and show_alloc_mem_ex() (src/api/malloc_api.cpp).
// Both read the heap through visit_heap() and write with write(2): no stdio, no allocation.
#pragma once

namespace ft {

void dump_heap(int fd);     // show_alloc_mem(): 42's format
void dump_heap_ex(int fd);  // show_alloc_mem_ex(): zones, free runs, hex dumps (README.md)
// Heap snapshots for tools (FT_MALLOC_SVG, FT_MALLOC_JSON, ft_heap --svg / --json). Both take
// the heap lock themselves (a statistics snapshot, then visit_heap): call them without it held.
void write_svg(int fd);     // a heap map: one band per zone, one cell per chunk (heap_svg.cpp)
void write_json(int fd);    // zones, live blocks, per-class statistics (README.md, "JSON snapshot schema")

}  // namespace ft
