#include "zone/zone.h"
#include "base/compiler.h"

#include "base/valgrind_hooks.h"

namespace ft {

FT_CORE_TEXT void Zone::init(unsigned cls) {
  // The pages are fresh from mmap: every other field, bitmap and code is already zero.
  class_index = cls;
  magic = g_secret ^ base();
  const ZoneLayout &l = layout();
  chunk_size = l.chunk_size;
  div_magic = l.div_magic;
  data_offset = l.data_offset;
  chunks = l.chunks;
  // Zones of one class side by side get the colors in turn (zone.h: the color).
  uint32_t color = zone_color(base(), l);
  avail_offset = kZoneHeaderSize + color;
  live_offset = l.live_offset + color;
  pending_offset = l.pending_offset + color;
  codes_offset = l.codes_offset + color;
  uint64_t *map = avail_map();
  for (uint32_t w = 0; w < l.words; ++w) {
    uint32_t bits = l.chunks - w * 64;
    map[w] = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  }
  summary = l.words == 64 ? ~uint64_t{0} : (uint64_t{1} << l.words) - 1;
  avail = l.chunks;
  hwm = 0;
}

FT_CORE_TEXT uint32_t Zone::take(bool *fresh) {
  FT_ASSERT(avail > 0 && summary != 0);
  uint64_t *map = avail_map();
  unsigned w = static_cast<unsigned>(__builtin_ctzll(summary));
  uint64_t bits = map[w];
  unsigned b = static_cast<unsigned>(__builtin_ctzll(bits));
  bits &= bits - 1;
  __atomic_store_n(&map[w], bits, __ATOMIC_RELAXED);
  if (!bits) summary &= ~(uint64_t{1} << w);
  --avail;
  uint32_t i = w * 64 + b;
  FT_ASSERT(i < chunks && !live_bit(i));
  *fresh = i >= hwm;
  if (*fresh) hwm = i + 1;
  return i;
}

FT_CORE_TEXT uint32_t Zone::take_many(uintptr_t *out, uint32_t want) {
  // The header's fields in locals: the stores through `out` could alias them.
  uint64_t *map = avail_map();
  uintptr_t first = data(), size = chunk_size;
  uint64_t words = summary;
  uint32_t got = 0, top = 0;
  uintptr_t *slot = out + want;  // filled downwards
  while (got < want && words) {
    unsigned w = static_cast<unsigned>(__builtin_ctzll(words));
    uint64_t bits = map[w];
    FT_ASSERT(bits);
    uint32_t i;
    do {
      i = w * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
      FT_ASSERT(i < chunks && !live_bit(i));
      *--slot = first + uintptr_t{i} * size;
      bits &= bits - 1;
    } while (++got < want && bits);
    top = i + 1;
    __atomic_store_n(&map[w], bits, __ATOMIC_RELAXED);
    if (!bits) words &= ~(uint64_t{1} << w);
  }
  summary = words;
  avail -= got;
  if (top > hwm) hwm = top;
  return got;
}

FT_CORE_TEXT void Zone::give(uint32_t i) {
  FT_ASSERT(i < chunks && !is_avail(i) && !live_bit(i) && avail < chunks);
  uint64_t *w = &avail_map()[i / 64];
  __atomic_store_n(w, *w | uint64_t{1} << (i % 64), __ATOMIC_RELEASE);  // after the live bit left
  summary |= uint64_t{1} << (i / 64);
  ++avail;
}

FT_CORE_TEXT void Zone::give_many(const uintptr_t *chunk, uint32_t n, uintptr_t ignored) {
  // The header's fields in locals, as take_many's.
  uint64_t *map = avail_map();
  uintptr_t first = data();
  uint64_t div = div_magic, words = summary;
  for (uint32_t k = 0; k < n; ++k) {
    uint32_t i = static_cast<uint32_t>((static_cast<unsigned __int128>((chunk[k] & ~ignored) - first) * div) >> 64);
    FT_ASSERT(i < chunks && !is_avail(i) && !live_bit(i));
    uint64_t *w = &map[i / 64];
    __atomic_store_n(w, *w | uint64_t{1} << (i % 64), __ATOMIC_RELEASE);  // after the live bit left
    words |= uint64_t{1} << (i / 64);
  }
  summary = words;
  avail += n;
  FT_ASSERT(avail <= chunks);
}

FT_CORE_TEXT uint32_t Zone::collect_pending_word(uint32_t pw, uint32_t *double_free) {
  *double_free = 0;
  uint64_t *pending = pending_map(), *map = avail_map();
  // Taking the bits in one exchange leaves the word zero: a remote free after it announces the
  // word again, so none waits unseen (Zone::remote_free).
  if (!__atomic_load_n(&pending[pw], __ATOMIC_RELAXED)) return 0;
  uint64_t bits = __atomic_exchange_n(&pending[pw], 0, __ATOMIC_ACQ_REL);
  uint32_t taken = 0;
  for (; bits; bits &= bits - 1) {
    uint32_t i = pw * 64 + static_cast<uint32_t>(__builtin_ctzll(bits));
    if (!clear_live(i)) {  // freed by two threads, the second not seeing the first
      if (!*double_free) *double_free = i + 1;
      continue;
    }
    uint64_t *w = &map[i / 64];
    __atomic_store_n(w, *w | uint64_t{1} << (i % 64), __ATOMIC_RELEASE);
    summary |= uint64_t{1} << (i / 64);
    ++taken;
  }
  avail += taken;
  return taken;
}

FT_CORE_TEXT uint32_t Zone::collect_pending() {
  // The words with no pending bit (nearly all) skipped here, without a call each: this runs
  // under the heap lock when a zone changes hands, on zones of up to 20 words since the tenth
  // round (make bench-ir, the lock held per acquisition: larson 2,423 -> 1,821 instructions,
  // server 2,472 -> 2,193).
  uint32_t taken = 0, ignored;
  const uint64_t *pending = pending_map();
  for (uint32_t pw = 0, n = layout().words; pw < n; ++pw)
    if (__atomic_load_n(&pending[pw], __ATOMIC_RELAXED)) taken += collect_pending_word(pw, &ignored);
  return taken;
}

FT_HOT_TEXT void Zone::recount() {
  const uint64_t *map = avail_map();
  uint64_t bits_summary = 0;
  uint32_t n = 0;
  for (uint32_t w = 0, words = layout().words; w < words; ++w) {
    uint64_t v = __atomic_load_n(&map[w], __ATOMIC_RELAXED);
    if (v) bits_summary |= uint64_t{1} << w;
    n += static_cast<uint32_t>(__builtin_popcountll(v));
  }
  summary = bits_summary;
  avail = n;
}

FT_HOT_TEXT size_t Zone::size(uint32_t i) const {
  CodeFormat f = code_format(class_index);
  if (f == CodeFormat::kWord) {
    uint32_t n = reinterpret_cast<const uint32_t *>(const_cast<Zone *>(this)->codes())[i];
    return n < chunk_size ? n : chunk_size;
  }
  unsigned c = code(i);
  if (c != tail_code(f)) return chunk_size - c;
  uint32_t v;
  const char *tail = chunk(i) + chunk_size - kTailBytes;
  vg::open(tail, sizeof v);
  memcpy(&v, tail, sizeof v);
  vg::close(tail, sizeof v);
  // The tail is in the user's reach: an overflow may have changed it, so never trust it past
  // the usable size.
  size_t cap = chunk_size - kTailBytes;
  return v < cap ? v : cap;
}

}  // namespace ft
