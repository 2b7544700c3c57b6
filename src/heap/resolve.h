// What a pointer handed back by the program is (free, realloc, malloc_usable_size, free_sized):
// a live chunk of a zone, a live LARGE block, or a fault to report. Never reads memory that is
// not ours: the zone registry and the LARGE table answer "is this ours?" before any zone header
// is read, so a wild pointer is reported, never a crash in the allocator.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/misuse_report.h"
#include "base/settings.h"
#include "large/large_table.h"
#include "zone/zone.h"

namespace ft {

struct Ref {
  Zone *zone = nullptr;
  uint32_t index = 0;
  LargeBlock *large = nullptr;
  FaultInfo fault;

  size_t size() const { return zone ? zone->size(index) : large->size; }
  size_t real_usable() const { return zone ? zone->usable(index) : large->usable(); }
  // What the program may use: with canaries, exactly what it asked for.
  size_t usable() const { return g_config.check ? size() : real_usable(); }
  Kind kind() const { return zone ? kind_of_class(zone->class_index) : Kind::kLarge; }
};

// Under the heap lock.
Ref resolve(const void *ptr);

// The canary after a block, under FT_MALLOC_CHECK: reports an overwritten one; the caller goes on
// (warn mode), since the heap's own metadata is out of band and intact.
void check_canary(Call call, void *p, const Ref &r);

// malloc_usable_size(): takes the lock itself, reports a pointer that is not a live block.
size_t heap_usable_size(void *p);

// The usable size of a block of the heap a rescue child inherited, read without the lock and
// without writing anything (heap/fork_rescue.h): 0 when p is no block of it.
size_t inherited_usable(const void *p);

}  // namespace ft
