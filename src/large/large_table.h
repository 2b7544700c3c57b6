// The LARGE table: every live LARGE block, found by the pointer the program holds.
//
// The table lives in its own mapping, out of reach of any user block, so validating a pointer
// never reads memory that is not ours. Open addressing with linear probing, load at most 1/2,
// backward-shift deletion (no tombstones): lookups are O(1) expected. The caller holds the heap
// lock for every table operation; mapping and unmapping happen outside it (large_block.h).
#pragma once
#include <cstddef>
#include <cstdint>

namespace ft {

struct LargeBlock {
  uintptr_t user;    // the pointer the program holds (the key)
  uintptr_t base;    // the mapping's start
  size_t map_len;    // the mapping's length (with the guard page, under FT_MALLOC_GUARD)
  size_t size;       // the size the program asked for
  uintptr_t end;     // the end of what the program may use (the guard page starts there)
  size_t usable() const { return end - user; }
};

namespace large {

// insert and erase count the live LARGE bytes (counters::note_large), not the mapped ones: a
// block's mapping stays mapped when it moves between the table and the cache of freed mappings,
// so large_block.cpp and large_cache.cpp count those where mappings are made and unmapped.
LargeBlock *find(uintptr_t user);
// False when the table had to grow and could not.
bool insert(const LargeBlock &block);
void erase(LargeBlock *slot);
// find and erase in one (free's path): false when user is no live block; else the block, out of
// the table, in *out.
bool erase_user(uintptr_t user, LargeBlock *out);
size_t count();
size_t mapped_bytes();
// Records that the block's mapping is now map_len long (shrunk in place).
void resize(LargeBlock *slot, size_t map_len);
// Visits every block (in table order); for the dump and the checks.
void for_each(void (*fn)(const LargeBlock &, void *), void *ctx);
// For error reports only (O(n)): the block whose mapping holds p.
const LargeBlock *containing(uintptr_t p);
// A short memory of blocks just freed, so that a second free says "double free".
void remember_freed(const LargeBlock &block);
bool was_freed(uintptr_t user, size_t *size);

}  // namespace large
}  // namespace ft
