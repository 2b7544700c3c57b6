// The call log (FT_MALLOC_TRACE=FILE, ft_heap --trace): every allocator call with its arguments,
// result, thread and time, in the compact binary format of call_log_format.h. Tracing turns the
// thread cache off (base/settings.h), so the hooks sit on the heap's slow paths.
#pragma once
#include <cstdint>

#include "debug/call_log_format.h"

namespace ft::call_log {

// Opens the log; called once at start-up when FT_MALLOC_TRACE names a file.
void open(const char *path);
// Logs one call. Never allocates, never takes the heap lock.
void record(Op op, uint64_t a, uint64_t b, uint64_t result);
// After a call: logs the bytes mapped in zones and in LARGE mappings (kMapped) if they changed
// since the last time, for the charts of memory over time (ft_heap --timeline, --massif).
void record_mapping();

}  // namespace ft::call_log
