// What the parts of the fuzzing harness share. fuzz_heap.cpp: the input's encoding and the checks
// (its opening comment), the operations, the shadow model and libFuzzer's entry points;
// fuzz_pattern.cpp: the content patterns the blocks are filled with and checked against;
// fuzz_dump.cpp: show_alloc_mem() captured into a memfd and parsed.
#pragma once
#include <ft_malloc.h>

#include <cstddef>
#include <cstdint>

// The pattern loops and the dump parser are left out of the coverage instrumentation: their
// comparisons, traced byte by byte, would cost more than the allocator and guide nothing.
#define NO_COV __attribute__((no_sanitize("coverage"), noinline))

namespace fuzz_heap {

constexpr unsigned kSlots = 64;
constexpr size_t kMinAlign = 16;

struct Slot {
  unsigned char *p;  // nullptr: empty
  size_t size;       // the size asked (what show_alloc_mem prints)
  size_t usable;     // malloc_usable_size at allocation
  size_t align;      // the alignment the pointer must have
  uint64_t seed;     // the pattern's seed
};

// The harness's live blocks, one per slot.
extern Slot g_slot[kSlots];
extern unsigned g_op_index;  // for messages

// Addresses the harness freed during this input (and did not get back since): a dump must not
// list them. Reset at the start of each input (libFuzzer allocates between inputs).
constexpr unsigned kFreedMax = 4096;
extern uintptr_t g_freed[kFreedMax];
extern unsigned g_freed_count;

// A message on stderr naming the op, then abort().
[[noreturn]] __attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...);

// ---- Patterns (fuzz_pattern.cpp) ------------------------------------------------------------
// The pattern byte at offset i depends on (seed, i) only, so any range can be checked alone.
inline __attribute__((always_inline)) uint64_t pattern_word(uint64_t seed, size_t k) {
  uint64_t x = seed ^ (k * 0x9E3779B97F4A7C15ull);
  return x ^ (x >> 29);
}

inline __attribute__((always_inline)) unsigned char pattern_byte(uint64_t seed, size_t i) {
  return static_cast<unsigned char>(pattern_word(seed, i / 8) >> (8 * (i % 8)));
}

// Fills the patterned ranges of a block of `usable` bytes.
void fill(unsigned char *p, size_t usable, uint64_t seed);
// The first offset in [0, len) whose byte differs from the pattern of a block of `usable` bytes,
// or len.
size_t first_mismatch(const unsigned char *p, size_t usable, size_t len, uint64_t seed);
// The first byte in [0, len) (the same ranges as the pattern) that is not `byte`, or len.
size_t first_not(const unsigned char *p, size_t usable, size_t len, unsigned char byte);
inline size_t first_nonzero(const unsigned char *p, size_t usable, size_t len) { return first_not(p, usable, len, 0); }

// ---- The dumps (fuzz_dump.cpp) --------------------------------------------------------------
// Opens the memfd the dumps are captured into.
void init_dump();
// show_alloc_mem() (ex: show_alloc_mem_ex()) parsed and checked against the live blocks of the
// harness and the ones it freed.
void check_dump(bool ex);

}  // namespace fuzz_heap
