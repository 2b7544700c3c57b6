#include "debug/stack_table.h"

#include <cstring>

#include "os/mapping.h"

namespace ft::stacks {
namespace {

// Guarded by the heap lock. g_stacks[id - 1] is stack id; g_index is an open-addressing table of
// ids (0: empty) keyed by the frames' hash, at most half full.
constinit Stack *g_stacks = nullptr;
constinit uint32_t g_count = 0, g_capacity = 0;
constinit uint32_t *g_index = nullptr;
constinit uint32_t g_index_capacity = 0;

uint32_t hash_of(const uintptr_t *frames, unsigned depth, bool cut) {
  uint64_t h = depth * 2 + cut;
  for (unsigned i = 0; i < depth; ++i) h = (h ^ frames[i]) * 0x9e3779b97f4a7c15ull;
  return static_cast<uint32_t>(h >> 32);
}

bool same(const Stack &s, const uintptr_t *frames, unsigned depth, bool cut, uint32_t hash) {
  return s.hash == hash && s.depth == depth && s.cut == cut && !memcmp(s.frames, frames, depth * sizeof *frames);
}

void index_insert(uint32_t *index, uint32_t cap, uint32_t id) {
  uint32_t i = g_stacks[id - 1].hash & (cap - 1);
  while (index[i]) i = (i + 1) & (cap - 1);
  index[i] = id;
}

// Room for one more stack: the array and the index doubled when full.
bool reserve_one() {
  if (g_count == g_capacity) {
    uint32_t cap = g_capacity ? g_capacity * 2 : 1024;
    auto *s = static_cast<Stack *>(os::map(os::round_to_pages(cap * sizeof(Stack))));
    if (!s) return false;
    if (g_stacks) {
      memcpy(s, g_stacks, g_count * sizeof(Stack));
      os::unmap(g_stacks, os::round_to_pages(g_capacity * sizeof(Stack)));
    }
    g_stacks = s;
    g_capacity = cap;
  }
  if ((g_count + 1) * 2 > g_index_capacity) {
    uint32_t cap = g_index_capacity ? g_index_capacity * 2 : 4096;
    auto *index = static_cast<uint32_t *>(os::map(os::round_to_pages(cap * sizeof(uint32_t))));
    if (!index) return false;
    for (uint32_t id = 1; id <= g_count; ++id) index_insert(index, cap, id);
    if (g_index) os::unmap(g_index, os::round_to_pages(g_index_capacity * sizeof(uint32_t)));
    g_index = index;
    g_index_capacity = cap;
  }
  return true;
}

}  // namespace

uint32_t note_alloc(const uintptr_t *frames, unsigned depth, bool cut, size_t n) {
  uint32_t hash = hash_of(frames, depth, cut);
  uint32_t id = 0;
  if (g_index) {
    for (uint32_t i = hash & (g_index_capacity - 1); g_index[i]; i = (i + 1) & (g_index_capacity - 1))
      if (same(g_stacks[g_index[i] - 1], frames, depth, cut, hash)) {
        id = g_index[i];
        break;
      }
  }
  if (!id) {
    if (!reserve_one()) return 0;
    Stack &s = g_stacks[g_count];
    s = Stack{};
    s.depth = depth;
    s.hash = hash;
    s.cut = cut;
    memcpy(s.frames, frames, depth * sizeof *frames);
    id = ++g_count;
    index_insert(g_index, g_index_capacity, id);
  }
  Stack &s = g_stacks[id - 1];
  s.allocs++;
  s.alloc_bytes += n;
  return id;
}

Stack &at(uint32_t id) { return g_stacks[id - 1]; }

uint32_t count() { return g_count; }

}  // namespace ft::stacks
