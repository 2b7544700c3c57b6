// Misuse reports: one line on stderr naming the call, the pointer and what it turned out to be,
// e.g. `ft_malloc: free(): double free 0x5555557a02a0 (TINY block of 32 B)`, then abort() unless
// FT_MALLOC_ERRORS says warn or ignore. Built in a stack buffer and written with write(2): the
// heap may be broken and stdio may allocate.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/size_class.h"

namespace ft {

enum class Call : uint8_t { kFree, kRealloc, kUsableSize, kFreeSized, kFreeAlignedSized, kCheck };

enum class Fault : uint8_t {
  kNone,
  kNotOurs,         // no zone or LARGE block holds the address
  kInterior,        // inside a block, not at its start
  kDoubleFree,      // the start of a block that is already free
  kNeverAllocated,  // the start of a chunk never handed out since its zone was last cleared
  kZoneHeader,      // inside a zone's metadata
  kCorruptZone,     // a zone header whose magic is wrong: the heap was overwritten
  kSizeMismatch,    // free_sized()/free_aligned_sized() with a size or alignment it was not given
  kOverflow,        // FT_MALLOC_CHECK: the canary after the block was overwritten
  kBadBitmap,       // ft_malloc_check(): a zone's bitmaps or counts disagree
};

struct FaultInfo {
  Fault fault = Fault::kNone;
  Kind kind = Kind::kTiny;
  uintptr_t block = 0;      // the block or zone concerned
  size_t block_size = 0;    // its chunk size (asked size for LARGE)
  size_t given = 0;         // the size passed to free_sized()
};

// Returns only when FT_MALLOC_ERRORS is warn or ignore.
[[gnu::cold]] void report_fault(Call call, const void *ptr, const FaultInfo &info);

}  // namespace ft
