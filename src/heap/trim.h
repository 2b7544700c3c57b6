// malloc_trim(): this thread's cached chunks back to their zones, then every wholly free zone
// unmapped (the reserves too) and the pages of free chunks inside the others given back.
#pragma once

namespace ft {

// True if anything went back to the system.
bool heap_trim();

// An allocation failed for want of memory (a mapping refused: RLIMIT_AS, overcommit): heap_trim,
// so that what the heap keeps for reuse (the reserve zones, the LARGE cache, this thread's cached
// chunks) no longer stands in the way; true if the caller should try once more. Trims only when
// the heap's mapped bytes changed since the last such trim: a program that probes for the
// largest block it can have does not pay a walk of the heap on every refusal.
bool trim_for_retry();

}  // namespace ft
