// Which call made the block each call of a log frees or reallocates: the links --replay follows
// (a call waits for the one whose pointer it takes) and the charts of live memory over time
// (--massif, --timeline) subtract. Addresses are reused, so a pointer means the block most
// recently returned at that address (with the realloc exception explained in call_links.cpp).
#pragma once
#include <stdint.h>

#include "tools/ft_heap/call_log_reader.h"

namespace ft_heap {

inline constexpr uint64_t kNoCall = UINT64_MAX;

// dep[i] (log.count entries): the index of the call that returned the block call i frees or
// reallocates; kNoCall for calls that take none, and for blocks from before the log. Returns how
// many frees and reallocs took a block from before the log.
uint64_t link_calls(const Log &log, uint64_t *dep);

}  // namespace ft_heap
