// A zone: one mmap of TINY or SMALL chunks, all of one size class.
//
//   base                                                                  base + zone_size
//   | Zone header | avail bitmap | live bitmap | size codes | chunk 0 | chunk 1 | ... |
//     128 B         1 bit/chunk    1 bit/chunk   4 or 32 bits  at data_offset, chunk_size apart
//   (the numbers in this diagram are pinned by static_asserts below)
//
// All chunk state lives out of band, in the header pages, so a write through a dangling or
// overflowing user pointer cannot corrupt it, a double free is a live bit already clear, and the
// dump walks bits. Invariants:
//   - avail bit set   <=> the chunk is free inside this zone (the zone may hand it out);
//   - live bit set    <=> the chunk was handed to the program and not freed since;
//   - neither         <=> the chunk is out of the zone but not live (reserved for a per-thread cache);
//   - both is never true.
//   - summary bit w set <=> avail word w is non-zero, so finding a free chunk is two ctz: O(1).
//   - chunks [hwm, chunks) have not been written since the zone was mapped or purged: zero.
// The size codes keep the size the program asked for (show_alloc_mem prints it):
//   TINY:  a nibble d, the size is chunk_size - d for d <= 14; d == 15 means the size did not fit
//          and sits in the chunk's last 4 bytes (then the usable size is chunk_size - 4). A 16 B
//          block thus costs 16 B + 6 bits: under 17 B resident per live block.
//   SMALL: a 32-bit size per chunk (chunks are >= 320 B, so at most 1.3 % overhead).
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
// Every TINY zone: 3905 chunks of 16 B, 255 chunks of 256 B (>= 100: the design card).
inline constexpr size_t kTinyZoneSize = 64 * 1024;
// The design card: a zone holds at least 100 chunks of its class.
inline constexpr unsigned kMinChunksPerZone = 100;
// One 64-bit summary word over 64 bitmap words bounds a zone to 4096 chunks.
inline constexpr unsigned kMaxBitmapWords = 64;
inline constexpr unsigned kMaxChunksPerZone = 64 * kMaxBitmapWords;
// Chunks are aligned to their size's lowest set bit up to a page; memalign beyond goes LARGE.
inline constexpr size_t kMaxChunkAlign = 4096;
// Two cache lines: the hot fields (layout copy, bitmap summary) and the list links.
inline constexpr unsigned kZoneHeaderSize = 128;
// TINY size code meaning "the size is stored in the chunk's last kTinyTailBytes bytes".
inline constexpr unsigned kTinyTailCode = 15;
inline constexpr unsigned kTinyTailBytes = 4;

// Where each part of a zone of one class lies; computed at compile time for every class.
struct ZoneLayout {
  uint32_t chunk_size;
  uint32_t zone_size;     // a multiple of kZoneGranule (hence of any page size up to 64 KiB)
  uint32_t chunks;
  uint32_t words;         // bitmap words in use
  uint32_t live_offset;   // the avail bitmap starts right after the header
  uint32_t codes_offset;
  uint32_t data_offset;   // chunk 0; a multiple of chunk_align
  uint32_t chunk_align;   // every chunk address is a multiple of it
  uint64_t div_magic;     // index = (offset * div_magic) >> 64, exact for 32-bit offsets
};

namespace detail {
constexpr size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

constexpr ZoneLayout make_layout(unsigned c, size_t zone_size) {
  size_t size = class_size(c);
  size_t align = size & (~size + 1);
  if (align > kMaxChunkAlign) align = kMaxChunkAlign;
  size_t n = (zone_size - kZoneHeaderSize) / size;
  if (n > kMaxChunksPerZone) n = kMaxChunksPerZone;
  for (; n > 0; --n) {
    size_t words = (n + 63) / 64;
    size_t live = kZoneHeaderSize + words * 8;
    size_t codes = live + words * 8;
    size_t code_bytes = class_is_tiny(c) ? (n + 1) / 2 : 4 * n;
    size_t data = round_up(codes + code_bytes, align);
    if (data + n * size <= zone_size)
      return ZoneLayout{static_cast<uint32_t>(size),        static_cast<uint32_t>(zone_size),
                        static_cast<uint32_t>(n),           static_cast<uint32_t>(words),
                        static_cast<uint32_t>(live),        static_cast<uint32_t>(codes),
                        static_cast<uint32_t>(data),        static_cast<uint32_t>(align),
                        ~uint64_t{0} / size + 1};
  }
  return ZoneLayout{};
}

// TINY zones are all 64 KiB; a SMALL zone is the fewest granules that hold 100 chunks.
constexpr size_t zone_size_for(unsigned c) {
  if (class_is_tiny(c)) return kTinyZoneSize;
  size_t z = kZoneGranule;
  while (make_layout(c, z).chunks < kMinChunksPerZone) z += kZoneGranule;
  return z;
}

template <unsigned... I>
struct Layouts {
  static constexpr ZoneLayout table[] = {make_layout(I, zone_size_for(I))...};
};
template <unsigned N, unsigned... I>
struct MakeLayouts : MakeLayouts<N - 1, N - 1, I...> {};
template <unsigned... I>
struct MakeLayouts<0, I...> : Layouts<I...> {};
}  // namespace detail

inline constexpr const ZoneLayout *kLayouts = detail::MakeLayouts<kClassCount>::table;

constexpr bool layouts_hold_the_design_card() {
  for (unsigned c = 0; c < kClassCount; ++c) {
    const ZoneLayout &l = kLayouts[c];
    if (l.chunks < kMinChunksPerZone || l.zone_size % kZoneGranule) return false;
    if (l.data_offset % l.chunk_align || l.data_offset + l.chunks * l.chunk_size > l.zone_size) return false;
  }
  return true;
}
static_assert(layouts_hold_the_design_card());
static_assert(kLayouts[0].chunks >= 3900, "16 B blocks must cost under 17 B resident");

// The header at the base of every zone. Lists are intrusive: zones are never allocated apart.
// The fields of its class's layout that the fast paths need are copied here, next to the magic,
// so that a free reads one cache line of the header.
struct Zone {
  uint64_t magic;            // g_secret ^ base: a stray write or a forged zone is caught
  uint32_t class_index;
  uint32_t chunk_size;       // = layout().chunk_size
  uint64_t div_magic;        // = layout().div_magic
  uint32_t data_offset;      // = layout().data_offset
  uint32_t chunks;           // = layout().chunks
  uint32_t avail;            // chunks with their avail bit set
  uint32_t hwm;              // chunks [hwm, chunks) are untouched, hence zero
  uint64_t summary;          // bit w <=> avail word w is non-zero
  uint32_t live_offset;      // = layout().live_offset
  uint32_t codes_offset;     // = layout().codes_offset
  // The thread cache's home slot when a thread cache refills from this zone alone (off its
  // class's list meanwhile), else nullptr. See zone_pool::take_batch.
  Zone **owner;              // the fields above fill the first cache line, the links the second
  Zone *next, *prev;         // the class's list of zones with free chunks
  Zone *next_all, *prev_all; // every zone, for the dump and the heap check
  uint64_t pad_second_line[4];

  const ZoneLayout &layout() const { return kLayouts[class_index]; }
  uintptr_t base() const { return reinterpret_cast<uintptr_t>(this); }
  bool magic_ok() const { return magic == (g_secret ^ base()); }
  uint64_t *avail_map() { return reinterpret_cast<uint64_t *>(reinterpret_cast<char *>(this) + kZoneHeaderSize); }
  uint64_t *live_map() { return reinterpret_cast<uint64_t *>(reinterpret_cast<char *>(this) + live_offset); }
  const uint64_t *live_map() const { return const_cast<Zone *>(this)->live_map(); }
  uint8_t *codes() { return reinterpret_cast<uint8_t *>(this) + codes_offset; }
  uintptr_t data() const { return base() + data_offset; }
  char *chunk(uint32_t i) const { return reinterpret_cast<char *>(data() + size_t{i} * chunk_size); }
  bool empty() const { return avail == chunks; }

  bool is_live(uint32_t i) const { return (__atomic_load_n(&live_map()[i / 64], __ATOMIC_RELAXED) >> (i % 64)) & 1; }
  bool is_avail(uint32_t i) const { return (const_cast<Zone *>(this)->avail_map()[i / 64] >> (i % 64)) & 1; }

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

  void init(unsigned cls);
  // Takes the lowest free chunk; `fresh` says it is untouched (zero). Requires avail > 0.
  uint32_t take(bool *fresh);
  void give(uint32_t i);
  // Live bits are changed with atomic read-modify-writes: a later per-thread cache flips them
  // without the heap lock. Return the previous state of the bit.
  // (Written as fetch-op & mask so that the compiler emits one `lock bts` / `lock btr`.)
  // A chunk handed out is neither avail nor live (the debug build asserts it: handing out a
  // chunk twice is the allocator's own bug). clear_live is also how a free finds a double free,
  // so it asserts nothing about the chunk's state.
  bool set_live(uint32_t i) {
    FT_ASSERT(i < chunks && !is_avail(i));
    uint64_t m = uint64_t{1} << (i % 64);
    bool was = __atomic_fetch_or(&live_map()[i / 64], m, __ATOMIC_RELEASE) & m;
    FT_ASSERT(!was);
    return was;
  }
  bool clear_live(uint32_t i) {
    FT_ASSERT(i < chunks);
    uint64_t m = uint64_t{1} << (i % 64);
    return __atomic_fetch_and(&live_map()[i / 64], ~m, __ATOMIC_RELAXED) & m;
  }

  // Records the size the program asked for (inline: every malloc does it).
  void set_size(uint32_t i, size_t n) {
    if (class_is_tiny(class_index)) set_size_tiny(i, n);
    else set_size_small(i, n);
  }
  void set_size_small(uint32_t i, size_t n) { reinterpret_cast<uint32_t *>(codes())[i] = static_cast<uint32_t>(n); }
  void set_size_tiny(uint32_t i, size_t n) {
    size_t d = chunk_size - n;
    unsigned code = d < kTinyTailCode ? static_cast<unsigned>(d) : kTinyTailCode;
    if (code == kTinyTailCode) {
      uint32_t v = static_cast<uint32_t>(n);
      memcpy(chunk(i) + chunk_size - kTinyTailBytes, &v, sizeof v);
    }
    uint8_t *byte = codes() + i / 2;
    unsigned shift = (i % 2) * 4;
    // Two chunks share a code byte, and the neighbour's holder may change its nibble at the same
    // time (realloc in place): ours changes with one atomic XOR, which leaves the other nibble
    // as it is. Only the chunk's holder writes its nibble, so the value read here is current.
    unsigned old = (__atomic_load_n(byte, __ATOMIC_RELAXED) >> shift) & 0xF;
    if (old != code) __atomic_fetch_xor(byte, static_cast<uint8_t>((old ^ code) << shift), __ATOMIC_RELAXED);
  }
  size_t size(uint32_t i) const;     // the size the program asked for
  // What malloc_usable_size reports.
  size_t usable(uint32_t i) const {
    if (!class_is_tiny(class_index)) return chunk_size;
    return tiny_code(i) == kTinyTailCode ? chunk_size - kTinyTailBytes : chunk_size;
  }
  unsigned tiny_code(uint32_t i) const {
    return (__atomic_load_n(const_cast<Zone *>(this)->codes() + i / 2, __ATOMIC_RELAXED) >> ((i % 2) * 4)) & 0xF;
  }
};
static_assert(sizeof(Zone) == kZoneHeaderSize && kZoneHeaderSize == 128, "the diagram above: a 128 B header");
static_assert(offsetof(Zone, next) == 64, "the list links open the header's second cache line");

}  // namespace ft
