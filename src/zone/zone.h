// A zone: one mmap of TINY or SMALL chunks, all of one size class.
//
//   base                                                                      base + zone_size
//   | Zone header | color | avail bitmap | live bitmap | pending bitmap | size codes | chunk 0 | ...
//     128 B         0-7 lines 1 bit/chunk  1 bit/chunk   1 bit/chunk      4/8/32 bits  at data_offset
//   (the numbers in this diagram are pinned by static_asserts below)
//
// The color: zones start on 64 KiB boundaries, so without it the bitmaps of every zone of a
// class sit at one offset, in one set of the L1 and L2 caches (4 and 64 KiB apart). Each zone
// moves its bitmaps and codes down by (its granule number % colors) cache lines, into the room
// its layout keeps for that. larson per operation, callgrind's cache simulation (32 KiB L1 and
// 512 KiB L2, 8-way): L1 read misses 1.54 -> 1.01, L2 read misses 0.69 -> 0.11.
//
// All chunk state lives out of band, in the header pages, so a write through a dangling or
// overflowing user pointer cannot corrupt it, a double free is a live bit already clear, and the
// dump walks bits. Invariants:
//   - avail bit set   <=> the chunk is free inside this zone (the zone may hand it out);
//   - live bit set    <=> the chunk was handed to the program and its free has not been taken in
//                         by the zone's writer yet;
//   - pending bit set  => live: another thread freed the chunk (a remote free), which the zone's
//                         writer takes in later (collect_pending): live cleared, avail set. A
//                         chunk is held by the program <=> live and not pending (is_live);
//   - neither avail nor live <=> the chunk is out of the zone but free: on its owner's stack;
//   - avail and live together never.
//   - summary bit w set <=> avail word w is non-zero, so finding a free chunk is two ctz: O(1).
//   - chunks [hwm, chunks) have not been written since the zone was mapped or purged: zero.
//
// Who writes what. A zone has one writer at a time: its owner (the thread cache that allocates
// from it, tcache/), or, while no cache owns it, whoever holds the heap lock (zone_pool.h). Only
// the writer changes the avail and live bitmaps, the counts, the summary and the nibble codes,
// with plain loads and stores: no locked instruction. Anyone else who frees a chunk sets its
// pending bit with one atomic OR (remote_free), which also catches a second free.
//
// The size codes keep the size the program asked for (show_alloc_mem prints it), in one of
// three formats by class (code_format):
//   nibble (16 B): d, the size is chunk_size - d for d <= 14; d == 15 means the size did not fit
//          and sits in the chunk's last 4 bytes (then the usable size is chunk_size - 4). A 16 B
//          block thus costs 16 B + 7 bits: under 17 B resident per live block. Two chunks share
//          a code byte, so only the zone's writer changes nibbles.
//   byte (32 B to 1 KiB): the same with a byte, 255 the escape (memalign, realloc shrinking in
//          place); malloc's own requests never escape, as a class there spans at most 128 B.
//          One store, like the word's: a program mixing TINY and SMALL sizes no longer picks
//          between two code paths at random on each malloc (larson: 0.5 mispredicted branches
//          per step, callgrind --branch-sim).
//   word (above 1 KiB): a 32-bit size per chunk (at most 0.4 % overhead).
// A byte or a word is written by the zone's writer or by the chunk's holder (realloc in place).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/debug_assert.h"
#include "base/secret.h"
#include "base/size_class.h"

namespace ft {

// Zones start on 64 KiB boundaries, the granule of the zone registry (registry.h).
inline constexpr size_t kZoneGranule = 64 * 1024;
// A TINY zone of 16 B to 48 B: 3875 chunks of 16 B to 1315 of 48 B (>= 100: the design card);
// 64 B to 256 B take two to four granules (zone_size_for).
inline constexpr size_t kTinyZoneSize = 64 * 1024;
// The design card: a zone holds at least 100 chunks of its class.
inline constexpr unsigned kMinChunksPerZone = 100;
// One 64-bit summary word over 64 bitmap words bounds a zone to 4096 chunks.
inline constexpr unsigned kMaxBitmapWords = 64;
inline constexpr unsigned kMaxChunksPerZone = 64 * kMaxBitmapWords;
// Chunks are aligned to their size's lowest set bit up to a page; memalign beyond goes LARGE.
inline constexpr size_t kMaxChunkAlign = 4096;
// Two cache lines: what every free reads, and the writer's bookkeeping (see struct Zone).
inline constexpr unsigned kZoneHeaderSize = 128;
// The zones' colors (above): up to 8 places for the bitmaps, a cache line apart, where the room
// they take keeps the zone's size and its 100 chunks.
inline constexpr unsigned kMaxColors = 8;  // 448 B at most: 2 chunks of 256 B, 14 of 32 B
inline constexpr unsigned kColorStep = 64;
// The pending bitmap (remote frees) has the live bitmap's geometry: chunk i is bit i % 64 of word
// i / 64, so the owner's free tests both words with one index. A word's frees are announced to
// the zone's owner when it goes from zero to non-zero (tcache/remote_free.h): the owner takes
// the whole word with one exchange, back to zero, so the next free announces it again.
// The size codes' formats (the header comment) and their escape codes, which mean "the size is
// stored in the chunk's last kTailBytes bytes".
enum class CodeFormat : uint8_t { kNibble, kByte, kWord };
inline constexpr unsigned kNibbleTailCode = 15;
inline constexpr unsigned kByteTailCode = 255;
inline constexpr unsigned kTailBytes = 4;
// Byte codes up to 1 KiB chunks, where a class's requests lie at most 128 B below its chunk
// size (896 < n <= 1024): every malloc's code fits, well under the escape.
inline constexpr size_t kByteCodeMaxChunk = 1024;
// Classes 1 to kByteCodeClasses - 1 have byte codes.
inline constexpr unsigned kByteCodeClasses = class_of(kByteCodeMaxChunk) + 1;
constexpr CodeFormat code_format(unsigned c) {
  return c == 0 ? CodeFormat::kNibble : c < kByteCodeClasses ? CodeFormat::kByte : CodeFormat::kWord;
}
// The format's escape code (a word never escapes).
constexpr unsigned tail_code(CodeFormat f) { return f == CodeFormat::kNibble ? kNibbleTailCode : kByteTailCode; }
static_assert(class_size(kByteCodeClasses - 1) == kByteCodeMaxChunk && class_size(kByteCodeClasses) > kByteCodeMaxChunk);
static_assert(class_size(kByteCodeClasses - 1) - class_size(kByteCodeClasses - 2) < kByteTailCode,
              "a malloc's byte code never escapes");
constexpr size_t code_bytes_for(unsigned c, size_t chunks) {
  return code_format(c) == CodeFormat::kNibble ? (chunks + 1) / 2 : code_format(c) == CodeFormat::kByte ? chunks : 4 * chunks;
}

// Where each part of a zone of one class lies; computed at compile time for every class. 64 B:
// a class's entry is one cache line, found with a shift.
struct alignas(64) ZoneLayout {
  uint32_t chunk_size;
  uint32_t zone_size;     // a multiple of kZoneGranule (hence of any page size up to 64 KiB)
  uint32_t chunks;
  uint32_t words;         // avail and live bitmap words in use (64 chunks each)
  uint32_t live_offset;   // the avail bitmap starts right after the header
  uint32_t pending_offset;
  uint32_t codes_offset;
  uint32_t data_offset;   // chunk 0; a multiple of chunk_align
  uint32_t chunk_align;   // every chunk address is a multiple of it
  uint32_t colors;        // the places of the bitmaps (kColorStep apart) that data_offset leaves room for
  uint64_t div_magic;     // index = (offset * div_magic) >> 64, exact for 32-bit offsets
  uint32_t span;          // chunks * chunk_size: the chunks' bytes from data_offset
  uint32_t color_mask;    // (colors - 1) * kColorStep: see zone_color
};

// The classes whose 100 chunks fit one granule (16 B to 640 B) get the biggest zone, up to
// kGrownZoneMax (beyond it, up to kBigZoneChunks chunks: below), whose first chunk still lies
// in the first page beside the header, bitmaps and size codes: a class's first block then
// touches one page, as with one granule, and its zones hold 1315-3875 chunks (16-48 B, 64 KiB),
// 1995 of 64 B (128 KiB), 2013-2408 of 80-96 B (192 KiB), 1016-2306 of 112-256 B (256 KiB) and
// 1017-1020 of 320-640 B (320-640 KiB; 407-813 in 256 KiB before). A program holding more
// blocks of a class than one zone has spreads them over several, and the frees and mallocs of
// any zone but the class's current one go through the registry and that zone's header
// (tcache/own_zones.cpp): with 100-201 chunks a zone, a copy of larson on 264-512 B blocks ran
// 0.16 s, 0.08 s with 400 (glibc 0.11; 172 -> 104 instructions of ours per step). The tenth
// round gave 16-640 B about 1000 chunks (a random block freed and one allocated a step: 900
// blocks of 200 B 37.4 -> 29.7 ns, 800 of 128 B 38.2 -> 30.0, glibc 27.0-27.4); the eleventh
// the first page's rule: 1,500 blocks of 64 B 37.9 -> 30.5 ns, 2,000 of 128 B 44.9 -> 30.5,
// 1,800 of 96 B 37.2 -> 30.6, 1,300 of 192 B 36.0 -> 30.0 (glibc 27.9-32.0), with the same
// page faults for a program using 1 to 40 classes and the same peak RSS over make bench
// (1.08x). Zones of 4,000 chunks for every class would take a page more (the size codes) for
// each class a program uses.
inline constexpr size_t kMetadataPage = 4096;  // the smallest page size
// At most 4 granules: such a zone's frees go inline without a limit (kInlineFreeMaxZone, below).
inline constexpr size_t kGrownZoneMax = 4 * kZoneGranule;
// Zones grow past kGrownZoneMax while they stay within kBigZoneMax and kBigZoneChunks chunks:
// 1017-1020 chunks of 320-640 B (320-640 KiB, the first chunk still in the first page), and
// above 640 B, where 100 chunks take more than one granule, 1021-1022 chunks of 768 B to 1 KiB
// (768 KiB to 1 MiB), 815 of 1280 B down to 102 of 10 KiB (1 MiB); 12 KiB on as before (100
// chunks). Their frees go inline under a push limit (kInlineFreeClasses, below).
// With 100-170 chunks a zone, a class's blocks spread over several and most frees and mallocs
// of 768 B-1 KiB went the long way (above): mimalloc-bench's larson (5,000 blocks of 8-1000 B,
// 2 threads) 48.9 -> 60.3 M operations a second (glibc 43.2, mimalloc 61.1; medians of 5); a
// random block freed and one allocated a step over 5,000 of 8-1000 B, 27.5 -> 21.8 ns (glibc
// 20.5, mimalloc 9.5). Then 320-640 B (with the push limit): the same 5,000 blocks 17.1 -> 14.8
// ns; 10,000 of 8-600 B 38.7 -> 32.0 ns (glibc 36.9). Peak RSS over make bench unchanged; the
// pages are written as chunks are handed out, so a bigger zone costs address space only.
inline constexpr size_t kBigZoneMax = 16 * kZoneGranule;  // 1 MiB: 1022 chunks of 1 KiB
inline constexpr unsigned kBigZoneChunks = 1024;          // about the 16-640 B classes' count

namespace detail {
constexpr size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

constexpr ZoneLayout make_layout(unsigned c, size_t zone_size, unsigned colors = 1) {
  size_t size = class_size(c);
  size_t align = size & (~size + 1);
  if (align > kMaxChunkAlign) align = kMaxChunkAlign;
  size_t n = (zone_size - kZoneHeaderSize) / size;
  if (n > kMaxChunksPerZone) n = kMaxChunksPerZone;
  for (; n > 0; --n) {
    size_t words = (n + 63) / 64;
    size_t live = kZoneHeaderSize + words * 8;
    size_t pending = live + words * 8;
    size_t codes = pending + words * 8;
    size_t code_bytes = code_bytes_for(c, n);
    size_t data = round_up(codes + code_bytes + (colors - 1) * kColorStep, align);
    if (data + n * size <= zone_size)
      return ZoneLayout{static_cast<uint32_t>(size),  static_cast<uint32_t>(zone_size),
                        static_cast<uint32_t>(n),     static_cast<uint32_t>(words),
                        static_cast<uint32_t>(live),  static_cast<uint32_t>(pending),
                        static_cast<uint32_t>(codes), static_cast<uint32_t>(data),
                        static_cast<uint32_t>(align), colors, ~uint64_t{0} / size + 1,
                        static_cast<uint32_t>(n * size), (colors - 1) * kColorStep};
  }
  return ZoneLayout{};
}

// Whether the first chunk of a zone of z bytes of class c, with the most colors, ends within
// the zone's first page.
constexpr bool first_chunk_in_first_page(unsigned c, size_t z) {
  return make_layout(c, z, kMaxColors).data_offset + class_size(c) <= kMetadataPage;
}

// When 100 chunks fit one granule, the most granules (up to kGrownZoneMax, then while they hold
// at most kBigZoneChunks) whose first chunk stays in the first page: 64 KiB for 16-48 B, 128 KiB
// for 64 B, 192 KiB for 80-96 B, 256 KiB for 112-256 B, 320-640 KiB for 320-640 B. Otherwise
// the fewest granules that hold 100 chunks, grown up to kBigZoneMax while they hold at most
// kBigZoneChunks: 768 KiB for 768 B, 896 KiB for 896 B, 1 MiB for 1 KiB to 10 KiB, then 1.2
// MiB for 12 KiB up to 12.6 MiB for 128 KiB.
constexpr size_t zone_size_for(unsigned c) {
  size_t z = kZoneGranule;
  if (make_layout(c, z).chunks >= kMinChunksPerZone) {
    while (z < kBigZoneMax && first_chunk_in_first_page(c, z + kZoneGranule) &&
           (z < kGrownZoneMax || make_layout(c, z + kZoneGranule).chunks <= kBigZoneChunks))
      z += kZoneGranule;
    return z;
  }
  while (make_layout(c, z).chunks < kMinChunksPerZone) z += kZoneGranule;
  while (z < kBigZoneMax && make_layout(c, z + kZoneGranule).chunks <= kBigZoneChunks) z += kZoneGranule;
  return z;
}

// The most colors (8, 4, 2 or 1) whose room the zone has without growing or dropping under 100
// chunks. The 16 B class has none: its 17 B per block budget (16.91 B) has no line to spare,
// and with 3875 blocks a zone its zones are the fewest.
constexpr ZoneLayout colored_layout(unsigned c) {
  size_t zone_size = zone_size_for(c);
  for (unsigned colors = c == 0 ? 1 : kMaxColors; colors > 1; colors /= 2) {
    ZoneLayout l = make_layout(c, zone_size, colors);
    if (l.chunks >= kMinChunksPerZone) return l;
  }
  return make_layout(c, zone_size);
}

template <unsigned... I>
struct Layouts {
  static constexpr ZoneLayout table[] = {colored_layout(I)...};
};
template <unsigned N, unsigned... I>
struct MakeLayouts : MakeLayouts<N - 1, N - 1, I...> {};
template <unsigned... I>
struct MakeLayouts<0, I...> : Layouts<I...> {};
}  // namespace detail

inline constexpr const ZoneLayout *kLayouts = detail::MakeLayouts<kClassCount>::table;

// The color of the zone at base (the header comment): its granule number modulo its class's
// colors, in bytes. Zone::init keeps it in the header's offsets; the owner's frees of chunks
// outside its current zones compute it from the address alone (tcache/own_zones.cpp
// free_into_own_zone), so as to read no field of the header's first line.
inline constexpr unsigned kColorShift = 10;  // base / kZoneGranule * kColorStep, for 64 KiB-aligned bases
static_assert(kZoneGranule >> kColorShift == kColorStep);
inline uint32_t zone_color(uintptr_t base, const ZoneLayout &l) {
  return static_cast<uint32_t>(base >> kColorShift) & l.color_mask;
}

constexpr bool layouts_hold_the_design_card() {
  for (unsigned c = 0; c < kClassCount; ++c) {
    const ZoneLayout &l = kLayouts[c];
    if (l.chunks < kMinChunksPerZone || l.zone_size % kZoneGranule) return false;
    if (l.data_offset % l.chunk_align || l.data_offset + l.chunks * l.chunk_size > l.zone_size) return false;
  }
  return true;
}
static_assert(layouts_hold_the_design_card());
constexpr bool colors_are_powers_of_two() {
  for (unsigned c = 0; c < kClassCount; ++c)
    if (kLayouts[c].colors & (kLayouts[c].colors - 1)) return false;
  return true;
}
static_assert(colors_are_powers_of_two(), "zone_color masks the granule number");
constexpr bool pending_follows_live() {
  for (unsigned c = 0; c < kClassCount; ++c)
    if (kLayouts[c].pending_offset != kLayouts[c].live_offset + kLayouts[c].words * 8) return false;
  return true;
}
static_assert(pending_follows_live(), "free_into_own_zone finds the pending word `words` past the live one");

// The classes whose frees into their current zone go inline (tcache/cache_fast_path.h) without
// noticing that the zone then holds nothing: its pages stay until the class's next refill or
// flush looks (kInlineFreeMaxZone at most a class). Classes 0 to kInlineFreeClasses - 1, whose
// zones are at most that big; a bigger zone's must go back at once beyond the thread's budget
// (tcache/own_zones.cpp current_holds_nothing), so the free that could empty it takes the long
// way (the class cache's push limit: own_zones.cpp fit_push_limit); its other frees go inline.
inline constexpr size_t kInlineFreeMaxZone = kGrownZoneMax;
// The first classes whose zones are at most kInlineFreeMaxZone (16 B to 256 B).
constexpr unsigned count_inline_free_classes() {
  unsigned n = 0;
  while (n < kClassCount && kLayouts[n].zone_size <= kInlineFreeMaxZone) ++n;
  for (unsigned c = n; c < kClassCount; ++c)
    if (kLayouts[c].zone_size <= kInlineFreeMaxZone) return 0;  // fails the assert below
  return n;
}
inline constexpr unsigned kInlineFreeClasses = count_inline_free_classes();
static_assert(kInlineFreeClasses == 16, "16 B .. 256 B: zones of 64-256 KiB");
// The classes whose 100 chunks fit one granule (16 B to 640 B): their zones grow as long as the
// first chunk stays in the first page (zone_size_for).
constexpr unsigned count_one_granule_classes() {
  unsigned n = 0;
  while (n < kClassCount && detail::make_layout(n, kZoneGranule).chunks >= kMinChunksPerZone) ++n;
  return n;
}
static_assert(count_one_granule_classes() == 21, "16 B .. 640 B");
static_assert(kLayouts[0].chunks == 3875 && kLayouts[2].chunks == 1315 && kLayouts[2].zone_size == kTinyZoneSize &&
                  kLayouts[3].zone_size == 2 * kTinyZoneSize,
              "the counts in kTinyZoneSize's comment");
constexpr bool first_chunks_in_first_page() {
  for (unsigned c = 0; c < count_one_granule_classes(); ++c)
    if (kLayouts[c].data_offset + kLayouts[c].chunk_size > kMetadataPage) return false;
  return true;
}
static_assert(first_chunks_in_first_page(), "a class's first block touches the zone's first page only");
static_assert(kLayouts[0].colors == 1 && kLayouts[1].colors == kMaxColors, "16 B zones have no color");

static_assert(kLayouts[0].chunks * 17 > kTinyZoneSize, "16 B blocks must cost under 17 B resident");

// ---- The bit operations, shared by a zone and its owner's copy of its layout (tcache/) ----
// A bitmap word written by one thread and read by others: loads and stores are atomic (never
// torn), the change itself plain. Each returns the bit's previous state.
inline bool set_bit(uint64_t *map, uint32_t i) {
  uint64_t *w = &map[i / 64];
  uint64_t m = uint64_t{1} << (i % 64), v = __atomic_load_n(w, __ATOMIC_RELAXED);
  __atomic_store_n(w, v | m, __ATOMIC_RELAXED);
  return v & m;
}
inline bool clear_bit(uint64_t *map, uint32_t i) {
  uint64_t *w = &map[i / 64];
  uint64_t m = uint64_t{1} << (i % 64), v = __atomic_load_n(w, __ATOMIC_RELAXED);
  __atomic_store_n(w, v & ~m, __ATOMIC_RELAXED);
  return v & m;
}
inline bool test_bit(const uint64_t *map, uint32_t i) { return (__atomic_load_n(&map[i / 64], __ATOMIC_RELAXED) >> (i % 64)) & 1; }
inline bool pending_in(const uint64_t *pending, uint32_t i) { return test_bit(pending, i); }
// b turned left by `turn` bits (0 or 4): one instruction.
inline uint8_t rotate_byte(uint8_t b, unsigned turn) {
  return static_cast<uint8_t>((b << turn) | (b >> ((8 - turn) & 7)));
}
// An escaped size: n in the last kTailBytes bytes of the chunk (at `chunk`, of chunk_size bytes).
inline void write_tail_size(char *chunk, uint32_t chunk_size, size_t n) {
  uint32_t v = static_cast<uint32_t>(n);
  memcpy(chunk + chunk_size - kTailBytes, &v, sizeof v);
}
// The nibble code of chunk i (at `chunk`, in a class of chunk_size bytes) for a request of n.
inline void write_nibble_code(uint8_t *codes, char *chunk, uint32_t chunk_size, uint32_t i, size_t n) {
  unsigned code = chunk_size - static_cast<uint32_t>(n);  // n <= chunk_size: in 32 bits
  if (code >= kNibbleTailCode) {
    write_tail_size(chunk, chunk_size, n);
    code = kNibbleTailCode;
  }
  uint8_t *byte = codes + i / 2;
  // Even chunks have the low nibble. An odd chunk's byte is turned by 4 bits before and after
  // (a byte turned by 4 twice is itself): one mask and no shifted code
  // (malloc(16) + free: 104 -> 103 instructions).
#if defined(__x86_64__)
  // An 8-bit rotate takes its count mod 8: turning by 4 * i is turning by (i & 1) * 4, without
  // the mask (malloc(16) + free: 100 -> 99 instructions).
  uint8_t v = __atomic_load_n(byte, __ATOMIC_RELAXED);
  uint32_t turns = i * 4;
  __asm__("rolb %%cl, %0" : "+q"(v) : "c"(turns));
  v = static_cast<uint8_t>((v & 0xF0u) | code);
  __asm__("rolb %%cl, %0" : "+q"(v) : "c"(turns));
  __atomic_store_n(byte, v, __ATOMIC_RELAXED);
#else
  unsigned turn = (i & 1) * 4;
  uint8_t v = rotate_byte(__atomic_load_n(byte, __ATOMIC_RELAXED), turn);
  __atomic_store_n(byte, rotate_byte(static_cast<uint8_t>((v & 0xF0u) | code), turn), __ATOMIC_RELAXED);
#endif
}
// The byte code of chunk i for a request of n: one store. `in_class`: n is one the class serves
// (malloc's fast path), whose code never escapes (the static_assert above), so no test.
inline void write_byte_code(uint8_t *codes, char *chunk, uint32_t chunk_size, uint32_t i, size_t n, bool in_class) {
  size_t code = chunk_size - n;
  if (!in_class && __builtin_expect(code >= kByteTailCode, 0)) {
    write_tail_size(chunk, chunk_size, n);
    code = kByteTailCode;
  }
  __atomic_store_n(codes + i, static_cast<uint8_t>(code), __ATOMIC_RELAXED);
}
inline void write_word_size(uint8_t *codes, uint32_t i, size_t n) {
  __atomic_store_n(&reinterpret_cast<uint32_t *>(codes)[i], static_cast<uint32_t>(n), __ATOMIC_RELAXED);
}

// The size code of chunk i of a class-c zone, in the class's format (code_format tests the 16 B
// class first: its pairs are the cheapest, malloc(16) + free 98 instructions).
inline void write_size_code(unsigned c, uint8_t *codes, char *chunk, uint32_t chunk_size, uint32_t i, size_t n,
                            bool in_class = false) {
  switch (code_format(c)) {
    case CodeFormat::kNibble: write_nibble_code(codes, chunk, chunk_size, i, n); break;
    case CodeFormat::kByte: write_byte_code(codes, chunk, chunk_size, i, n, in_class); break;
    case CodeFormat::kWord: write_word_size(codes, i, n); break;
  }
}
// Whether a request of n in class c keeps its size in the chunk's tail (its code escaped).
constexpr bool size_in_tail(unsigned c, uint32_t chunk_size, size_t n) {
  return code_format(c) != CodeFormat::kWord && chunk_size - n >= tail_code(code_format(c));
}

// What a zone's owner is to this layer: an id, which the registry keeps beside the zone
// (zone/registry.h). The thread cache is one (tcache/thread_cache.h); 0 is no owner.
struct ZoneOwner {
  uint32_t owner_id;
};

// The header at the base of every zone. Lists are intrusive: zones are never allocated apart.
// The first cache line is what a free of another thread's chunk reads (the magic and the layout
// copy a free needs, the owner): written only when the zone is made or changes owner. The
// owner's own frees compute the layout instead (tcache/own_zones.cpp free_into_own_zone). The
// second line is the writer's bookkeeping and the list links.
struct Zone {
  uint64_t magic;            // g_secret ^ base: a stray write or a forged zone is caught
  uint32_t class_index;
  uint32_t chunk_size;       // = layout().chunk_size
  uint64_t div_magic;        // = layout().div_magic
  uint32_t data_offset;      // = layout().data_offset
  uint32_t chunks;           // = layout().chunks
  uint32_t live_offset;      // = layout().live_offset + the zone's color (in bytes)
  uint32_t pending_offset;   // = layout().pending_offset + the zone's color
  uint32_t codes_offset;     // = layout().codes_offset + the zone's color
  uint32_t avail_offset;     // kZoneHeaderSize + the zone's color
  // The thread cache that owns the zone (tcache/thread_cache.h), or nullptr: the zone pool's,
  // under the heap lock. Changed under the heap lock only, with the registry's copy of its id.
  ZoneOwner *owner;
  uint64_t pad_owner_line;

  uint32_t avail;            // chunks with their avail bit set
  uint32_t hwm;              // chunks [hwm, chunks) are untouched, hence zero
  uint64_t summary;          // bit w <=> avail word w is non-zero
  Zone *next, *prev;         // the list the zone is on: its class's in the pool, or its owner's
  Zone *next_all, *prev_all; // every zone, for the dump and the heap check
  uint8_t list;              // which list `next` and `prev` belong to (zone_pool.h, tcache/)
  // Set while its owner holds it by adoption (tcache/own_zones.cpp: it freed a chunk of a zone
  // nobody owned) and has not made it current: the owner's frees of its chunks go straight back
  // into it, so that it empties and returns to the pool. Written by the owner only.
  uint8_t adopted;
  // Chunks of this zone on its owner's stacks, kept by the owner while the zone is not its
  // current one (tcache/thread_cache.h); 0 in a zone no cache owns.
  uint16_t cached;
  // The written bytes of a wholly free zone the pool keeps resident beyond its class's reserve,
  // counted in the pool's budget (zone_pool.h kKeptBytes); 0 otherwise. Under the heap lock.
  uint32_t kept_bytes;
  // Frees by its owner of chunks of this zone while another zone of the class was current (it
  // becomes current at kFollowAt: tcache/own_zones.cpp). Written by the owner only.
  uint16_t pushed_away;
  // Pages from the zone's base whose page-table entries its owner asked for ahead of the
  // high-water mark (tcache/own_zones.cpp prefault_ahead); 0 again when its pages go back.
  uint16_t prefaulted_pages;
  // For chunks of a page or more (tcache/own_zones.cpp prefault_big): the chunk whose pages say,
  // at the next refill, whether the program writes its blocks whole (its index + 1; 0: none),
  // and the refills left whose fresh chunks are asked for without a look. The owner's only.
  uint16_t probe_chunk;
  uint8_t prefault_trust;
  uint8_t pad_second_line[1];

  const ZoneLayout &layout() const { return kLayouts[class_index]; }
  uintptr_t base() const { return reinterpret_cast<uintptr_t>(this); }
  bool magic_ok() const { return magic == (g_secret ^ base()); }
  uint64_t *avail_map() { return reinterpret_cast<uint64_t *>(reinterpret_cast<char *>(this) + avail_offset); }
  uint64_t *live_map() { return reinterpret_cast<uint64_t *>(reinterpret_cast<char *>(this) + live_offset); }
  const uint64_t *live_map() const { return const_cast<Zone *>(this)->live_map(); }
  uint64_t *pending_map() { return reinterpret_cast<uint64_t *>(reinterpret_cast<char *>(this) + pending_offset); }
  const uint64_t *pending_map() const { return const_cast<Zone *>(this)->pending_map(); }
  uint8_t *codes() { return reinterpret_cast<uint8_t *>(this) + codes_offset; }
  uintptr_t data() const { return base() + data_offset; }
  char *chunk(uint32_t i) const { return reinterpret_cast<char *>(data() + size_t{i} * chunk_size); }
  bool empty() const { return avail == chunks; }
  ZoneOwner *owned_by() const { return __atomic_load_n(&owner, __ATOMIC_ACQUIRE); }

  // The bits, read by anyone (relaxed: a reader without the writer's lock gets a value the
  // writer stored, never a torn one).
  bool live_bit(uint32_t i) const { return test_bit(live_map(), i); }
  bool pending_bit(uint32_t i) const { return pending_in(pending_map(), i); }
  // Held by the program: handed out, and not freed by anyone since.
  bool is_live(uint32_t i) const { return live_bit(i) && !pending_bit(i); }
  bool is_avail(uint32_t i) const { return test_bit(const_cast<Zone *>(this)->avail_map(), i); }
  // Word w of the chunks held by the program (live and not pending), for the walks.
  uint64_t live_word(uint32_t w) const {
    return __atomic_load_n(&live_map()[w], __ATOMIC_RELAXED) & ~__atomic_load_n(&pending_map()[w], __ATOMIC_RELAXED);
  }

  // Where p falls: the chunk index and whether p is that chunk's start. False if outside the chunks.
  bool locate(uintptr_t p, uint32_t *index, bool *exact) const {
    uint64_t off = p - data();  // wraps for p below the chunks, then fails the bound check
    uint32_t i = static_cast<uint32_t>((static_cast<unsigned __int128>(off) * div_magic) >> 64);
    *index = i;
    *exact = off == uint64_t{i} * chunk_size;
    return off < uint64_t{chunks} * chunk_size;
  }
  // For a pointer known to be a chunk start (from a cache).
  uint32_t index_of(uintptr_t p) const {
    return static_cast<uint32_t>((static_cast<unsigned __int128>(p - data()) * div_magic) >> 64);
  }

  // ---- The writer's operations (the owner, or the heap lock's holder for an unowned zone) ----
  void init(unsigned cls);
  // Takes the lowest free chunk; `fresh` says it is untouched (zero). Requires avail > 0.
  uint32_t take(bool *fresh);
  // Takes up to `want` of the lowest free chunks at once, a bitmap word at a time, their
  // addresses stored from out[want - 1] down (the lowest last, for a stack to pop first);
  // returns how many (fewer only when the zone has no more). Those at or above the
  // high-water mark the zone had before the call are untouched (zero).
  uint32_t take_many(uintptr_t *out, uint32_t want);
  void give(uint32_t i);
  // Gives back the n chunks at chunk[0..n) (the zone's, held by nobody; the bits of `ignored` in
  // an address are not part of it) with one update of the counts.
  void give_many(const uintptr_t *chunk, uint32_t n, uintptr_t ignored);
  // A chunk handed out is neither avail nor live (the debug build asserts it: handing out a
  // chunk twice is the allocator's own bug). clear_live is also how a free finds a double free,
  // so it asserts nothing about the chunk's state. Plain loads and stores: only the writer
  // changes the live words (the stores are atomic so that readers never see a torn word).
  // Each returns the previous state of the bit.
  bool set_live(uint32_t i) {
    FT_ASSERT(i < chunks && !is_avail(i));
    bool was = set_bit(live_map(), i);
    FT_ASSERT(!was);
    return was;
  }
  bool clear_live(uint32_t i) {
    FT_ASSERT(i < chunks);
    return clear_bit(live_map(), i);
  }
  // Takes in the remote frees waiting in pending word pw (the word left zero: unannounced):
  // each such chunk leaves the live bitmap and becomes avail. Returns how many. A pending bit on
  // a chunk that is not live is a second free (two threads freed it, the second before seeing the
  // first): *double_free gets one such chunk, 0 if none; it becomes nothing.
  uint32_t collect_pending_word(uint32_t pw, uint32_t *double_free);
  // Every pending word (the pool's zones, a zone changing hands, a lost announcement).
  uint32_t collect_pending();
  // The avail count and the summary worked out again from the avail bitmap, for a zone whose
  // writer may have stopped between a bitmap store and the count's (take, give): its owner's
  // thread does not exist in a fork child (tcache::after_fork_in_child).
  void recount();

  // ---- A free by anyone but the writer ----
  enum class RemoteFree : uint8_t { kDone, kDoneAnnounce, kNotLive, kAlreadyPending };
  // Frees chunk i for a thread that is not the zone's writer. Checked first (without writing):
  // kNotLive, a chunk not held by the program (freed already and taken in, or never handed out);
  // kAlreadyPending, freed already and not yet taken in. Then one atomic OR sets the chunk's
  // pending bit: the last access to the zone, which may be taken in and unmapped at once.
  // kDoneAnnounce: this free found the word zero (unannounced), so the caller
  // announces it to the owner (`*word` is the word). A racing second free that sets the bit
  // first makes this one kAlreadyPending.
  RemoteFree remote_free(uint32_t i, uint32_t *word) {
    uint64_t m = uint64_t{1} << (i % 64);
    uint64_t *w = &pending_map()[i / 64];
    if (!live_bit(i)) return RemoteFree::kNotLive;
    if (__atomic_load_n(w, __ATOMIC_RELAXED) & m) return RemoteFree::kAlreadyPending;
    uint64_t old = __atomic_fetch_or(w, m, __ATOMIC_ACQ_REL);
    if (old & m) return RemoteFree::kAlreadyPending;
    *word = i / 64;
    return old ? RemoteFree::kDone : RemoteFree::kDoneAnnounce;
  }

  // Records the size the program asked for. A nibble: the writer only (two chunks share a
  // byte); a byte or a word: the writer or the chunk's holder.
  void set_size(uint32_t i, size_t n) { write_size_code(class_index, codes(), chunk(i), chunk_size, i, n); }
  size_t size(uint32_t i) const;     // the size the program asked for
  // What malloc_usable_size reports: the chunk, less the tail that holds an escaped size.
  size_t usable(uint32_t i) const {
    CodeFormat f = code_format(class_index);
    if (f == CodeFormat::kWord) return chunk_size;
    return code(i) == tail_code(f) ? chunk_size - kTailBytes : chunk_size;
  }
  // Chunk i's nibble or byte code.
  unsigned code(uint32_t i) const {
    const uint8_t *codes = const_cast<Zone *>(this)->codes();
    if (code_format(class_index) == CodeFormat::kByte) return __atomic_load_n(codes + i, __ATOMIC_RELAXED);
    return (__atomic_load_n(codes + i / 2, __ATOMIC_RELAXED) >> ((i % 2) * 4)) & 0xF;
  }
};
static_assert(sizeof(Zone) == kZoneHeaderSize && kZoneHeaderSize == 128, "the diagram above: a 128 B header");
static_assert(offsetof(Zone, avail) == 64, "the writer's bookkeeping opens the header's second cache line");

}  // namespace ft
