#include "large/large_table.h"

#include "base/compiler.h"

#include "base/counters.h"
#include "os/mapping.h"

namespace ft::large {

constinit table_state::Table table_state::g_table = {};

namespace {

using table_state::g_table;
using table_state::count_live_in;
using table_state::count_live_out;
using table_state::home;

constexpr size_t kInitialCapacity = 256;  // 8 KiB of slots: a page or two, grown by doubling
constexpr unsigned kFreedMemory = 64;     // recent LARGE frees remembered for double-free reports

struct Freed {
  uintptr_t user;
  size_t size;
};
FT_BIG_TABLE constinit Freed g_freed[kFreedMemory] = {};
constinit unsigned g_freed_next = 0;

FT_HOT_TEXT bool grow() {
  size_t capacity = g_table.capacity ? g_table.capacity * 2 : kInitialCapacity;
  auto *slots = static_cast<LargeBlock *>(os::map(capacity * sizeof(LargeBlock)));
  if (!slots) return false;
  for (size_t i = 0; i < g_table.capacity; ++i) {
    if (!g_table.slots[i].user) continue;
    size_t j = home(g_table.slots[i].user, table_state::shift_for(capacity));
    while (slots[j].user) j = (j + 1) & (capacity - 1);
    slots[j] = g_table.slots[i];
  }
  // The new table is published before the old one goes: a fork child reading the table without
  // the lock (fork_rescue.h) finds one that is mapped, whatever instant it was forked at; the
  // new shift only with the new slots, whose bounds it keeps.
  LargeBlock *old = g_table.slots;
  size_t old_capacity = g_table.capacity;
  __atomic_store_n(&g_table.slots, slots, __ATOMIC_RELEASE);
  __atomic_store_n(&g_table.shift, table_state::shift_for(capacity), __ATOMIC_RELEASE);
  __atomic_store_n(&g_table.capacity, capacity, __ATOMIC_RELEASE);
  ++g_table.moves;
  if (old) os::unmap(old, old_capacity * sizeof(LargeBlock));
  return true;
}

}  // namespace

FT_HOT_TEXT void erase(LargeBlock *slot) {
  if (!slot->cached) count_live_out(slot->map_len);
  g_table.extra_parts -= slot->parts - 1u;
  ++g_table.moves;
  // Backward-shift: pull later entries of the same probe run into the hole.
  size_t hole = static_cast<size_t>(slot - g_table.slots);
  for (size_t i = (hole + 1) & (g_table.capacity - 1); g_table.slots[i].user; i = (i + 1) & (g_table.capacity - 1)) {
    size_t h = home(g_table.slots[i].user, g_table.shift);
    // Move i into the hole unless its home lies cyclically in (hole, i].
    bool stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
    if (stays) continue;
    g_table.slots[hole] = g_table.slots[i];
    hole = i;
  }
  g_table.slots[hole].user = 0;  // the key alone marks a slot empty
  --g_table.count;
}

FT_HOT_TEXT bool insert(const LargeBlock &block) {
  if ((g_table.count + 1) * 2 > g_table.capacity && !grow()) return false;
  size_t i = home(block.user, g_table.shift);
  while (g_table.slots[i].user) i = (i + 1) & (g_table.capacity - 1);
  g_table.slots[i] = block;
  ++g_table.count;
  g_table.extra_parts += block.parts - 1u;
  if (!block.cached) count_live_in(block.map_len);
  return true;
}

FT_HOT_TEXT void resize(LargeBlock *slot, size_t map_len) {
  counters::note_mapped(static_cast<int64_t>(map_len) - static_cast<int64_t>(slot->map_len), true);
  counters::note_large(static_cast<int64_t>(map_len) - static_cast<int64_t>(slot->map_len));
  slot->map_len = map_len;
  slot->end = slot->base + map_len;
}

void for_each(void (*fn)(const LargeBlock &, void *), void *ctx) {
  for (size_t i = 0; i < g_table.capacity; ++i)
    if (g_table.slots[i].user && !g_table.slots[i].cached) fn(g_table.slots[i], ctx);
}

FT_HOT_TEXT const LargeBlock *containing(uintptr_t p) {
  for (size_t i = 0; i < g_table.capacity; ++i)
    if (g_table.slots[i].user && !g_table.slots[i].cached && p >= g_table.slots[i].base && p < g_table.slots[i].base + g_table.slots[i].map_len) return &g_table.slots[i];
  return nullptr;
}

FT_HOT_TEXT void remember_freed(const LargeBlock &block) {
  g_freed[g_freed_next] = Freed{block.user, block.size};
  g_freed_next = (g_freed_next + 1) % kFreedMemory;
}

FT_HOT_TEXT bool was_freed(uintptr_t user, size_t *size) {
  for (const Freed &f : g_freed)
    if (f.user == user && user) {
      *size = f.size;
      return true;
    }
  return false;
}


}  // namespace ft::large
