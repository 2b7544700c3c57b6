#include "zone.h"

namespace ft {

void Zone::init(unsigned cls) {
  // The pages are fresh from mmap: every other field, bitmap and code is already zero.
  class_index = cls;
  magic = kMagic ^ base();
  const ZoneLayout &l = layout();
  uint64_t *map = avail_map();
  for (uint32_t w = 0; w < l.words; ++w) {
    uint32_t bits = l.chunks - w * 64;
    map[w] = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  }
  summary = l.words == 64 ? ~uint64_t{0} : (uint64_t{1} << l.words) - 1;
  avail = l.chunks;
  hwm = 0;
}

uint32_t Zone::take(bool *fresh) {
  uint64_t *map = avail_map();
  unsigned w = static_cast<unsigned>(__builtin_ctzll(summary));
  uint64_t bits = map[w];
  unsigned b = static_cast<unsigned>(__builtin_ctzll(bits));
  bits &= bits - 1;
  map[w] = bits;
  if (!bits) summary &= ~(uint64_t{1} << w);
  --avail;
  uint32_t i = w * 64 + b;
  *fresh = i >= hwm;
  if (*fresh) hwm = i + 1;
  return i;
}

void Zone::give(uint32_t i) {
  avail_map()[i / 64] |= uint64_t{1} << (i % 64);
  summary |= uint64_t{1} << (i / 64);
  ++avail;
}

void Zone::set_size(uint32_t i, size_t n) {
  const ZoneLayout &l = layout();
  if (!class_is_tiny(class_index)) {
    reinterpret_cast<uint32_t *>(codes())[i] = static_cast<uint32_t>(n);
    return;
  }
  size_t d = l.chunk_size - n;
  unsigned code = d < kTinyTailCode ? static_cast<unsigned>(d) : kTinyTailCode;
  if (code == kTinyTailCode) {
    uint32_t v = static_cast<uint32_t>(n);
    memcpy(chunk(i) + l.chunk_size - kTinyTailBytes, &v, sizeof v);
  }
  // Two chunks share a byte: change only our nibble, atomically (see set_live).
  uint8_t *byte = codes() + i / 2;
  unsigned shift = (i % 2) * 4;
  uint8_t old = __atomic_load_n(byte, __ATOMIC_RELAXED);
  uint8_t want;
  do {
    want = static_cast<uint8_t>((old & ~(0xFu << shift)) | (code << shift));
  } while (!__atomic_compare_exchange_n(byte, &old, want, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

size_t Zone::size(uint32_t i) const {
  const ZoneLayout &l = layout();
  Zone *self = const_cast<Zone *>(this);
  if (!class_is_tiny(class_index)) {
    uint32_t n = reinterpret_cast<const uint32_t *>(self->codes())[i];
    return n < l.chunk_size ? n : l.chunk_size;
  }
  unsigned code = (__atomic_load_n(self->codes() + i / 2, __ATOMIC_RELAXED) >> ((i % 2) * 4)) & 0xF;
  if (code != kTinyTailCode) return l.chunk_size - code;
  uint32_t v;
  memcpy(&v, chunk(i) + l.chunk_size - kTinyTailBytes, sizeof v);
  // The tail is in the user's reach: an overflow may have changed it, so never trust it past
  // the usable size.
  size_t cap = l.chunk_size - kTinyTailBytes;
  return v < cap ? v : cap;
}

size_t Zone::usable(uint32_t i) const {
  const ZoneLayout &l = layout();
  if (!class_is_tiny(class_index)) return l.chunk_size;
  Zone *self = const_cast<Zone *>(this);
  unsigned code = (__atomic_load_n(self->codes() + i / 2, __ATOMIC_RELAXED) >> ((i % 2) * 4)) & 0xF;
  return code == kTinyTailCode ? l.chunk_size - kTinyTailBytes : l.chunk_size;
}

}  // namespace ft
