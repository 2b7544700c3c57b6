#include "large/large_table.h"

#include "base/compiler.h"

#include "base/counters.h"
#include "os/mapping.h"

namespace ft::large {
namespace {

constexpr size_t kInitialCapacity = 256;  // 8 KiB of slots: a page or two, grown by doubling
constexpr unsigned kFreedMemory = 64;     // recent LARGE frees remembered for double-free reports

constinit LargeBlock *g_slots = nullptr;
constinit size_t g_capacity = 0;  // a power of two
constinit size_t g_count = 0;
constinit size_t g_mapped = 0;  // bytes in LARGE mappings

struct Freed {
  uintptr_t user;
  size_t size;
};
FT_BIG_TABLE constinit Freed g_freed[kFreedMemory] = {};
constinit unsigned g_freed_next = 0;

size_t home(uintptr_t user, size_t capacity) {
  return static_cast<size_t>(((user >> 4) * 0x9e3779b97f4a7c15ull) >> 32) & (capacity - 1);
}

bool grow() {
  size_t capacity = g_capacity ? g_capacity * 2 : kInitialCapacity;
  auto *slots = static_cast<LargeBlock *>(os::map(capacity * sizeof(LargeBlock)));
  if (!slots) return false;
  for (size_t i = 0; i < g_capacity; ++i) {
    if (!g_slots[i].user) continue;
    size_t j = home(g_slots[i].user, capacity);
    while (slots[j].user) j = (j + 1) & (capacity - 1);
    slots[j] = g_slots[i];
  }
  // The new table is published before the old one goes: a fork child reading the table without
  // the lock (fork_rescue.h) finds one that is mapped, whatever instant it was forked at.
  LargeBlock *old = g_slots;
  size_t old_capacity = g_capacity;
  __atomic_store_n(&g_slots, slots, __ATOMIC_RELEASE);
  __atomic_store_n(&g_capacity, capacity, __ATOMIC_RELEASE);
  if (old) os::unmap(old, old_capacity * sizeof(LargeBlock));
  return true;
}

FT_INLINE LargeBlock *find_slot(uintptr_t user) {
  if (!g_count || !user) return nullptr;
  for (size_t i = home(user, g_capacity);; i = (i + 1) & (g_capacity - 1)) {
    if (g_slots[i].user == user) return &g_slots[i];
    if (!g_slots[i].user) return nullptr;
  }
}

FT_INLINE void erase_slot(LargeBlock *slot) {
  // Backward-shift: pull later entries of the same probe run into the hole.
  size_t slot_len = slot->map_len;
  size_t hole = static_cast<size_t>(slot - g_slots);
  for (size_t i = (hole + 1) & (g_capacity - 1); g_slots[i].user; i = (i + 1) & (g_capacity - 1)) {
    size_t h = home(g_slots[i].user, g_capacity);
    // Move i into the hole unless its home lies cyclically in (hole, i].
    bool stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
    if (stays) continue;
    g_slots[hole] = g_slots[i];
    hole = i;
  }
  g_mapped -= slot_len;
  counters::note_large(-static_cast<int64_t>(slot_len));
  g_slots[hole].user = 0;  // the key alone marks a slot empty
  --g_count;
}

}  // namespace

LargeBlock *find(uintptr_t user) { return find_slot(user); }

// One call on free's path, where find and erase were two.
bool erase_user(uintptr_t user, LargeBlock *out) {
  LargeBlock *slot = find_slot(user);
  if (!slot) return false;
  *out = *slot;
  erase_slot(slot);
  return true;
}

bool insert(const LargeBlock &block) {
  if ((g_count + 1) * 2 > g_capacity && !grow()) return false;
  size_t i = home(block.user, g_capacity);
  while (g_slots[i].user) i = (i + 1) & (g_capacity - 1);
  g_slots[i] = block;
  ++g_count;
  g_mapped += block.map_len;
  counters::note_large(static_cast<int64_t>(block.map_len));
  return true;
}

void erase(LargeBlock *slot) { erase_slot(slot); }

size_t count() { return g_count; }
size_t mapped_bytes() { return g_mapped; }
void resize(LargeBlock *slot, size_t map_len) {
  g_mapped = g_mapped - slot->map_len + map_len;
  counters::note_mapped(static_cast<int64_t>(map_len) - static_cast<int64_t>(slot->map_len), true);
  counters::note_large(static_cast<int64_t>(map_len) - static_cast<int64_t>(slot->map_len));
  slot->map_len = map_len;
  slot->end = slot->base + map_len;
}

void for_each(void (*fn)(const LargeBlock &, void *), void *ctx) {
  for (size_t i = 0; i < g_capacity; ++i)
    if (g_slots[i].user) fn(g_slots[i], ctx);
}

const LargeBlock *containing(uintptr_t p) {
  for (size_t i = 0; i < g_capacity; ++i)
    if (g_slots[i].user && p >= g_slots[i].base && p < g_slots[i].base + g_slots[i].map_len) return &g_slots[i];
  return nullptr;
}

void remember_freed(const LargeBlock &block) {
  g_freed[g_freed_next] = Freed{block.user, block.size};
  g_freed_next = (g_freed_next + 1) % kFreedMemory;
}

bool was_freed(uintptr_t user, size_t *size) {
  for (const Freed &f : g_freed)
    if (f.user == user && user) {
      *size = f.size;
      return true;
    }
  return false;
}


}  // namespace ft::large
