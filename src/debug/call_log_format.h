// The call log's file format (README.md, "Call log format"): written by debug/call_log.cpp inside
// the allocator, read by ft_heap (tools/ft_heap/), which includes this file. The one definition.
//
//   offset 0           Header (320 B used of kHeaderSize)
//   kHeaderSize        blocks of kBlockSize bytes, each reserved by one thread:
//                        slot 0: a kOpThread record naming the thread
//                        slots 1..127: that thread's calls, in its order
//   every record       kRecordSize bytes; an op of 0 is a slot not (yet) written
#pragma once
#include <cstdint>

namespace ft::call_log {

enum class Op : uint8_t {
  kMalloc = 1,        // a = size
  kCalloc = 2,        // a = count, b = size
  kRealloc = 3,       // a = old pointer, b = size
  kFree = 4,          // a = pointer
  kMemalign = 5,      // a = alignment, b = size (memalign, aligned_alloc, posix_memalign, valloc, pvalloc)
  kMapped = 6,        // not a call: a = bytes mapped in zones, b = in LARGE mappings, logged when they change
};

inline constexpr char kMagic[8] = {'F', 'T', 'M', 'T', 'R', 'A', 'C', 'E'};
inline constexpr uint32_t kVersion = 1;
inline constexpr uint32_t kHeaderSize = 4096;
inline constexpr uint32_t kRecordSize = 32;
inline constexpr uint32_t kBlockSize = 4096;  // a thread's reservation: its name, then 127 calls
inline constexpr uint8_t kOpThread = 0x80;    // slot 0 of a block: a = thread id, b = kernel tid, result = pid
inline constexpr uint64_t kTimeMask = (uint64_t{1} << 56) - 1;
inline constexpr uint32_t kFlagForkChild = 1;  // this log continues a parent's (ppid)
inline constexpr uint32_t kFlagPidCheck = 2;   // the writer compared pids to notice a fork

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t header_size;
  uint32_t record_size;
  uint32_t block_size;
  uint32_t flags;
  uint32_t reserved;            // 0
  uint64_t pid;
  uint64_t ppid;                // a fork child's log: the pid whose log it continues
  uint64_t start_monotonic_ns;  // record times count from here (the root process's start)
  uint64_t start_realtime_ns;   // the same instant on the wall clock
  char exe[256];
};
static_assert(sizeof(Header) == 320 && sizeof(Header) <= kHeaderSize);

struct Record {
  uint64_t time_op;  // bits 0-55: ns since start_monotonic_ns; bits 56-63: the op (0: unwritten)
  uint64_t a, b, result;
};
static_assert(sizeof(Record) == kRecordSize && kBlockSize % kRecordSize == 0);

}  // namespace ft::call_log
