#include "tools/ft_heap/call_links.h"

#include <stddef.h>

#include "tools/ft_heap/off_heap.h"

namespace ft_heap {
namespace {

// Old pointer -> index of the call that returned it (open addressing, linear probing).
uint64_t mix(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdull;
  k ^= k >> 33;
  return k;
}

struct PtrMap {
  uint64_t *keys;
  uint64_t *values;
  size_t mask;

  void init(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap *= 2;
    keys = map_array<uint64_t>(cap);
    values = map_array<uint64_t>(cap);
    mask = cap - 1;
  }
  size_t slot(uint64_t k) const {
    size_t i = static_cast<size_t>(mix(k)) & mask;
    while (keys[i] && keys[i] != k) i = (i + 1) & mask;
    return i;
  }
  void put(uint64_t k, uint64_t v) {
    size_t i = slot(k);
    keys[i] = k;
    values[i] = v;
  }
  uint64_t get(uint64_t k) const {
    size_t i = slot(k);
    return keys[i] ? values[i] : UINT64_MAX;
  }
  // Removes k; returns its value or UINT64_MAX. Backward-shift deletion keeps probes short.
  uint64_t take(uint64_t k) {
    size_t i = slot(k);
    if (!keys[i]) return UINT64_MAX;
    uint64_t v = values[i];
    keys[i] = 0;
    for (size_t j = (i + 1) & mask; keys[j]; j = (j + 1) & mask) {
      size_t home = static_cast<size_t>(mix(keys[j])) & mask;
      // Move j back to i when its home is not in (i, j] (cyclically).
      if (((j - home) & mask) >= ((j - i) & mask)) {
        keys[i] = keys[j];
        values[i] = values[j];
        keys[j] = 0;
        i = j;
      }
    }
    return v;
  }
};

}  // namespace

uint64_t link_calls(const Log &log, uint64_t *dep) {
  size_t n = log.count;
  // Times are taken when a call is logged: a free before it frees, a malloc after it allocates,
  // but a realloc after it has freed the old block. So another thread may get the old address
  // again and be logged first: an address can have two live instances in the log. A free takes
  // the newest (the block its thread was given), a realloc the oldest (the one it was given
  // before its record was written). older[i] links the live instances of one address, newest
  // first, from the map.
  PtrMap live;
  live.init(n + 1);
  uint64_t *older = map_array<uint64_t>(n + 1);
  auto produce = [&](uint64_t addr, size_t i) {
    older[i] = live.get(addr);
    live.put(addr, i);
  };
  auto consume_newest = [&](uint64_t addr) -> uint64_t {
    uint64_t d = live.get(addr);
    if (d == kNoCall) return kNoCall;
    if (older[d] == kNoCall) live.take(addr);
    else live.put(addr, older[d]);
    return d;
  };
  auto consume_oldest = [&](uint64_t addr) -> uint64_t {
    uint64_t d = live.get(addr);
    if (d == kNoCall || older[d] == kNoCall) return consume_newest(addr);
    uint64_t newer = d;
    while (older[older[newer]] != kNoCall) newer = older[newer];
    d = older[newer];
    older[newer] = kNoCall;
    return d;
  };
  uint64_t unknown = 0;
  for (size_t i = 0; i < n; ++i) {
    const Call &c = log.calls[i];
    dep[i] = kNoCall;
    switch (static_cast<ft::call_log::Op>(c.op)) {
      case ft::call_log::Op::kFree:
        if (c.a) {
          dep[i] = consume_newest(c.a);
          if (dep[i] == kNoCall) unknown++;
        }
        break;
      case ft::call_log::Op::kRealloc:
        if (!c.result && c.b) break;  // failed: the old block stays; the replay skips the call
        if (c.a) {
          dep[i] = consume_oldest(c.a);
          if (dep[i] == kNoCall) unknown++;
        }
        if (c.result) produce(c.result, i);
        break;
      case ft::call_log::Op::kMalloc:
      case ft::call_log::Op::kCalloc:
      case ft::call_log::Op::kMemalign:
        if (c.result) produce(c.result, i);
        break;
      default:
        break;
    }
  }
  unmap(older);
  unmap(live.keys);
  unmap(live.values);
  return unknown;
}

}  // namespace ft_heap
