// The content patterns of the fuzzing harness (fuzz_heap.h).
#include "fuzz_heap.h"

#include <cstring>

namespace fuzz_heap {

// A block of up to 64 KiB is patterned over all of its usable size. A larger one only over its
// first and last 16 KiB and 128 bytes around every 64 KiB boundary: a page fault costs ~10 us on
// the machines this runs on, more than the rest of an op, and a lost or shifted page still shows.
// The pattern byte at offset i depends on (seed, i) only, so any range can be checked alone.
constexpr size_t kFullPattern = 64 * 1024, kPatternEdge = 16 * 1024, kPatternStride = 64 * 1024,
                 kPatternStamp = 64;

// Calls f(a, b) for each patterned range [a, b) of a block of `usable` bytes, clipped to [0, limit),
// in increasing order; stops at the first f that returns false.
template <class F>
__attribute__((always_inline)) inline void for_patterned(size_t usable, size_t limit, F f) {
  auto emit = [&](size_t a, size_t b) {
    if (b > limit) b = limit;
    return a >= b || f(a, b);
  };
  if (usable <= kFullPattern) {
    emit(0, usable);
    return;
  }
  if (!emit(0, kPatternEdge)) return;
  for (size_t k = kPatternStride; k + kPatternStamp <= usable - kPatternEdge; k += kPatternStride)
    if (!emit(k - kPatternStamp, k + kPatternStamp)) return;
  emit(usable - kPatternEdge, usable);
}


NO_COV void fill(unsigned char *p, size_t usable, uint64_t seed) {
  for_patterned(usable, usable, [&](size_t a, size_t b) {
    for (; a < b && a % 8; ++a) p[a] = pattern_byte(seed, a);
    for (; a + 8 <= b; a += 8) {
      uint64_t w = pattern_word(seed, a / 8);
      memcpy(p + a, &w, 8);
    }
    for (; a < b; ++a) p[a] = pattern_byte(seed, a);
    return true;
  });
}

// The first offset in [0, len) whose byte differs from the pattern of a block of `usable` bytes,
// or len.
NO_COV size_t first_mismatch(const unsigned char *p, size_t usable, size_t len, uint64_t seed) {
  size_t bad = len;
  for_patterned(usable, len, [&](size_t a, size_t b) {
    for (; a < b && a % 8; ++a)
      if (p[a] != pattern_byte(seed, a)) return bad = a, false;
    for (; a + 8 <= b; a += 8) {
      uint64_t w = pattern_word(seed, a / 8), got;
      memcpy(&got, p + a, 8);
      if (got != w) break;
    }
    for (; a < b; ++a)
      if (p[a] != pattern_byte(seed, a)) return bad = a, false;
    return true;
  });
  return bad;
}

// The first byte in [0, len) (the same ranges as the pattern) that is not `byte`, or len.
NO_COV size_t first_not(const unsigned char *p, size_t usable, size_t len, unsigned char byte) {
  size_t bad = len;
  for_patterned(usable, len, [&](size_t a, size_t b) {
    for (; a < b; ++a)
      if (p[a] != byte) return bad = a, false;
    return true;
  });
  return bad;
}

}  // namespace fuzz_heap
