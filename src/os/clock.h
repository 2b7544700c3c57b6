// Time for the bounds that are counted in seconds (a freed mapping's wait for reuse): the coarse
// monotonic clock, read through the vDSO (no system call, ~20 instructions, a few ms of grain).
#pragma once
#include <time.h>

#include <cstdint>

namespace ft::os {

inline uint64_t coarse_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace ft::os
