// Pages to give back to the system once the heap lock is dropped: a system call never runs
// under the lock, so every layer that frees mappings under it hands them out in one of these.
#pragma once
#include <cstddef>
#include <cstdint>

#include "os/mapping.h"

namespace ft::large {

// One range (len 0: none).
struct Unmap {
  uintptr_t addr;
  size_t len;
  void run() const {  // call without the lock
    if (len) os::unmap(reinterpret_cast<void *>(addr), len);
  }
};

// A few ranges: a freed block and the cached mappings it pushed out (large_cache.h bounds them).
struct Unmaps {
  static constexpr unsigned kMax = 34;  // every cached mapping, the block and a tail
  Unmap r[kMax];
  unsigned n = 0;
  void add(uintptr_t addr, size_t len) {
    if (len) r[n++] = Unmap{addr, len};
  }
  void run() const {
    for (unsigned i = 0; i < n; ++i) r[i].run();
  }
};

}  // namespace ft::large
