// One way to read the whole heap: the dumps (show_alloc_mem/) and the tests go through it.
#pragma once
#include <cstddef>
#include <cstdint>

#include "large/large_table.h"
#include "zone/zone.h"

namespace ft {

// A zone or a LARGE mapping, as the visitor hands it out.
struct RegionView {
  Kind kind;
  uintptr_t base;              // the mapping's start: the address the dump prints for the zone
  size_t mapped;               // the mapping's length
  const Zone *zone;            // TINY and SMALL
  const LargeBlock *large;     // LARGE
};

// Calls fn for every zone and LARGE mapping in increasing address order, holding the heap lock
// throughout, so the dump is a consistent snapshot while other threads allocate. fn must not
// allocate. Returns the number of regions visited.
size_t visit_heap(void (*fn)(const RegionView &, void *), void *ctx);

// The number of blocks a zone holds for the program (live, and not freed by another thread since).
uint32_t live_chunks(const Zone *z);

}  // namespace ft
