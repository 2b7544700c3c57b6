// The debug modes, chosen by environment variables read once at start-up (base/settings.h):
//   FT_MALLOC_SCRIBBLE=1  new blocks read 0xAA, freed ones 0x55 (calloc still zero);
//   FT_MALLOC_GUARD=1     a LARGE block ends against a PROT_NONE page (large/large_block.cpp);
//   FT_MALLOC_CHECK=1     an 8-byte canary keyed with the process secret follows every block,
//                         checked on free and realloc and by ft_malloc_check().
// Any of them turns the thread cache off, so their hooks live on the slow paths only and the
// fast paths pay nothing for them.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "base/secret.h"
#include "base/settings.h"
#include "zone/zone.h"

namespace ft::debug {

inline constexpr uint8_t kNewByte = 0xAA;
inline constexpr uint8_t kFreedByte = 0x55;
inline constexpr size_t kCanaryBytes = 8;

// The bytes a block of n needs: with canaries, room for the canary and for a size kept in the
// chunk's last bytes (an escaped size code, zone.h), so neither overlaps the other.
inline size_t padded(size_t n) { return g_config.check ? n + kCanaryBytes + kTailBytes : n; }

inline uint64_t canary_for(uintptr_t at) { return g_secret ^ (at * 0x9e3779b97f4a7c15ull); }

inline void write_canary(void *p, size_t n) {
  uintptr_t at = reinterpret_cast<uintptr_t>(p) + n;
  uint64_t v = canary_for(at);
  memcpy(reinterpret_cast<void *>(at), &v, sizeof v);
}

inline bool canary_ok(const void *p, size_t n) {
  uintptr_t at = reinterpret_cast<uintptr_t>(p) + n;
  uint64_t v;
  memcpy(&v, reinterpret_cast<const void *>(at), sizeof v);
  return v == canary_for(at);
}

// A block of n bytes was just handed out.
inline void on_alloc(void *p, size_t n, bool zero) {
  if (g_config.scribble && !zero) memset(p, kNewByte, n);
  if (g_config.check) write_canary(p, n);
}

// A block is about to go back to its zone (LARGE blocks are unmapped: nothing to scribble).
inline void on_free(void *p, size_t usable) {
  if (g_config.scribble) memset(p, kFreedByte, usable);
}

}  // namespace ft::debug
