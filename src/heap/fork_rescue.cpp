#include "heap/fork_rescue.h"
#include "base/compiler.h"

#include <sched.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

namespace ft::rescue {

constinit bool g_on = false;

namespace {

// Blocks are carved from 1 MiB arenas; a block too big for one gets a mapping of its own.
constexpr size_t kArenaBytes = 1 << 20;
// Mappings the rescue allocator keeps track of (an arena each, or a big block): a crash
// reporter's child needs a handful; past this, allocation fails with ENOMEM.
constexpr unsigned kMaxMappings = 1024;
// Every block is preceded by its size, so that realloc and malloc_usable_size know it.
constexpr size_t kHeader = 16;

struct Mapping {
  uintptr_t base, end;
  bool own_block;  // a big block alone in its mapping: unmapped when freed
};

// The child may start threads: a spin lock (never the heap's mutex, which the interrupted frame
// still holds for all the child knows) guards the table.
constinit int g_spin = 0;
FT_BIG_TABLE constinit Mapping g_maps[kMaxMappings] = {};
constinit unsigned g_count = 0;
constinit uintptr_t g_next = 0, g_limit = 0;  // the current arena's free part

void lock() {
  while (__atomic_exchange_n(&g_spin, 1, __ATOMIC_ACQUIRE)) sched_yield();
}
void unlock() { __atomic_store_n(&g_spin, 0, __ATOMIC_RELEASE); }

uintptr_t map_raw(size_t len) {
  void *p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? 0 : reinterpret_cast<uintptr_t>(p);
}

// The mapping holding p (the caller holds the spin lock), or nullptr.
Mapping *mapping_of(uintptr_t p) {
  for (unsigned k = 0; k < g_count; ++k)
    if (p >= g_maps[k].base + kHeader && p < g_maps[k].end) return &g_maps[k];
  return nullptr;
}

void *fail() {
  errno = ENOMEM;
  return nullptr;
}

}  // namespace

void enter() { g_on = true; }

void *allocate(size_t n, size_t align, bool) {
  if (align < kHeader) align = kHeader;
  // Room for the header, the block and the alignment padding; sizes near SIZE_MAX fail here.
  size_t need;
  if (__builtin_add_overflow(n, kHeader + align, &need) || need > PTRDIFF_MAX) return fail();
  lock();
  uintptr_t user = 0;
  if (g_next) {
    user = (g_next + kHeader + align - 1) & ~(align - 1);
    if (user + n > g_limit) user = 0;  // the arena is full: a new one
  }
  if (user) {
    g_next = user + n;
  } else {
    if (g_count == kMaxMappings) {
      unlock();
      return fail();
    }
    bool alone = need > kArenaBytes / 4;
    size_t len = alone ? (need + 4095) & ~size_t{4095} : kArenaBytes;
    uintptr_t base = map_raw(len);
    if (!base) {
      unlock();
      return fail();
    }
    g_maps[g_count++] = Mapping{base, base + len, alone};
    user = (base + kHeader + align - 1) & ~(align - 1);
    if (!alone) g_next = user + n, g_limit = base + len;  // a big block leaves the arena as it was
  }
  unlock();
  // Fresh pages from mmap: already zero, whatever `zero` asks.
  uint64_t size = n;
  memcpy(reinterpret_cast<void *>(user - kHeader), &size, sizeof size);
  return reinterpret_cast<void *>(user);
}

size_t usable_size(const void *ptr) {
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  lock();
  Mapping *m = mapping_of(p);
  unlock();
  if (!m) return 0;
  uint64_t size;
  memcpy(&size, reinterpret_cast<const void *>(p - kHeader), sizeof size);
  return size;
}

void release(void *ptr) {
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  lock();
  Mapping *m = mapping_of(p);
  if (m && m->own_block) {
    Mapping gone = *m;
    *m = g_maps[--g_count];
    unlock();
    munmap(reinterpret_cast<void *>(gone.base), gone.end - gone.base);
    return;
  }
  unlock();  // a block in an arena stays until exit; a parent's block is left alone
}

}  // namespace ft::rescue
