// Size classes: which chunk size serves a request, in O(1).
//
//   TINY   0 .. 256 B      16 classes, 16 B apart (16, 32, ..., 256)
//   SMALL  257 .. 128 KiB  36 classes, 4 per doubling (320, 384, 448, 512, 640, ..., 131072)
//   LARGE  above           one mapping per block
//
// Each TINY/SMALL zone serves exactly one class. The thresholds and their measurements are in
// README.md ("Size classes").
#pragma once
#include <bit>
#include <cstddef>
#include <cstdint>

namespace ft {

// alignof(max_align_t) on x86-64 and aarch64: every pointer we return is a multiple of it.
inline constexpr size_t kMinAlign = 16;

// TINY ends at 256 B: strings, list and tree nodes live there, and a 16 B step keeps rounding
// waste to at most 15 B per block. Their size codes fit a byte, the 16 B class's a nibble (zone.h).
inline constexpr size_t kTinyMax = 256;
inline constexpr unsigned kTinyClassCount = kTinyMax / kMinAlign;  // 16

// SMALL ends at 128 KiB, glibc's default mmap threshold: above it a mapping per block costs
// less than the zone it would need (100 chunks of 128 KiB = a 12.9 MiB zone already).
inline constexpr size_t kSmallMax = 128 * 1024;
// 4 classes per doubling: rounding wastes at most 20 % (jemalloc's and mimalloc's choice).
inline constexpr unsigned kClassesPerDoubling = 4;
inline constexpr unsigned kSmallClassCount =
    kClassesPerDoubling * (std::bit_width(kSmallMax) - std::bit_width(kTinyMax));  // 36
inline constexpr unsigned kClassCount = kTinyClassCount + kSmallClassCount;      // 52

// The chunk size of class c: the largest request it serves.
constexpr size_t class_size(unsigned c) {
  if (c < kTinyClassCount) return (c + 1) * kMinAlign;
  unsigned k = c - kTinyClassCount;
  unsigned octave = std::bit_width(kTinyMax) - 1 + k / kClassesPerDoubling;  // 8 for 257..512
  size_t base = size_t{1} << octave;
  return base + (k % kClassesPerDoubling + 1) * (base / kClassesPerDoubling);
}

// The class that serves a request of n <= kSmallMax bytes (malloc(0) is served by class 0).
constexpr unsigned class_of(size_t n) {
  if (n <= kTinyMax) return n <= kMinAlign ? 0 : static_cast<unsigned>((n - 1) / kMinAlign);
  unsigned width = std::bit_width(n - 1);  // 2^(width-1) < n <= 2^width
  size_t sub = (n - 1 - (size_t{1} << (width - 1))) >> (width - 3);
  return kTinyClassCount + (width - std::bit_width(kTinyMax)) * kClassesPerDoubling +
         static_cast<unsigned>(sub);
}

constexpr bool class_is_tiny(unsigned c) { return c < kTinyClassCount; }

// class_of with one load up to kTableMax (every class boundary up to there is a multiple of 16 B,
// so (n + 15) / 16 decides the class), computed above (four classes per doubling: the bit width
// of n - 1 and the two bits below its top one). A table up to 128 KiB was 8 KiB of .rodata,
// two pages of every program's resident set (the kernel's fault-around maps the read-only data
// whole); the requests above 4 KiB pay 5 instructions more.
struct ClassTable {
  static constexpr size_t kTableMax = 4096;
  uint8_t of[kTableMax / kMinAlign + 1];
  constexpr ClassTable() : of() {
    for (size_t k = 0; k <= kTableMax / kMinAlign; ++k) of[k] = static_cast<uint8_t>(class_of(k * kMinAlign));
  }
  // n <= kTableMax.
  constexpr unsigned from_table(size_t n) const { return of[(n + kMinAlign - 1) / kMinAlign]; }
  // kTableMax < n <= kSmallMax.
  static constexpr unsigned computed(size_t n) {
    unsigned width = static_cast<unsigned>(std::bit_width(n - 1));  // 2^(width-1) < n <= 2^width
    unsigned sub = static_cast<unsigned>((n - 1) >> (width - 3));   // 4..7: the two bits below the top one
    return kTinyClassCount + (width - std::bit_width(kTinyMax)) * kClassesPerDoubling + sub - kClassesPerDoubling;
  }
};
constexpr bool class_table_agrees() {
  constexpr ClassTable t;
  auto agrees = [&](size_t n) { return (n <= ClassTable::kTableMax ? t.from_table(n) : ClassTable::computed(n)) == class_of(n); };
  for (size_t n = 0; n <= 2 * ClassTable::kTableMax; ++n)
    if (!agrees(n)) return false;
  for (unsigned c = 0; c < kClassCount; ++c)
    for (size_t n = class_size(c) - 1; n <= class_size(c) + 1 && n <= kSmallMax; ++n)
      if (!agrees(n)) return false;
  return true;
}
static_assert(class_table_agrees());

// The three kinds of block the dump and the reports name.
enum class Kind : uint8_t { kTiny, kSmall, kLarge };
constexpr Kind kind_of_class(unsigned c) { return class_is_tiny(c) ? Kind::kTiny : Kind::kSmall; }
constexpr const char *kind_name(Kind k) { return k == Kind::kTiny ? "TINY" : k == Kind::kSmall ? "SMALL" : "LARGE"; }

static_assert(class_size(0) == 16 && class_size(15) == 256);
static_assert(class_size(16) == 320 && class_size(19) == 512 && class_size(20) == 640);
static_assert(class_size(kClassCount - 1) == kSmallMax);
static_assert(class_of(0) == 0 && class_of(16) == 0 && class_of(17) == 1 && class_of(256) == 15);
static_assert(class_of(257) == 16 && class_of(320) == 16 && class_of(321) == 17);
static_assert(class_of(512) == 19 && class_of(513) == 20 && class_of(kSmallMax) == kClassCount - 1);

// realloc shrinking a SMALL chunk of at least 4 KiB to a quarter or less moves the block, so the
// 3 KiB+ it no longer needs are freed; smaller shrinks stay in place.
inline constexpr size_t kShrinkMoveMinChunk = 4096;
constexpr bool shrink_moves(size_t chunk, size_t n) { return chunk >= kShrinkMoveMinChunk && n <= chunk / 4; }

// Every class serves every size between its predecessor's and its own.
constexpr bool classes_are_consistent() {
  for (unsigned c = 0; c < kClassCount; ++c) {
    size_t lo = c ? class_size(c - 1) + 1 : 0;
    if (class_size(c) % kMinAlign) return false;
    if (class_of(lo) != c || class_of(class_size(c)) != c) return false;
  }
  return true;
}
static_assert(classes_are_consistent());

}  // namespace ft
