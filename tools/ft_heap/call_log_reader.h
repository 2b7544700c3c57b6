// Reading a call log (README.md, "Call log format") for --print and --replay: the header checked,
// every written record loaded in time order, and the other logs of the same run found. The format
// itself is defined once, in debug/call_log_format.h (shared with the writer in the library);
// this tool only names it.
#pragma once
#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "debug/call_log_format.h"

namespace ft_heap {

using ft::call_log::Header;
using ft::call_log::kFlagForkChild;

// One call, as loaded.
struct Call {
  uint64_t time;     // ns since the log's start
  uint64_t a, b, result;
  uint64_t index;    // position in the file: ties in time keep the file's (per-thread) order
  uint32_t thread;   // small id from the block's thread record
  uint8_t op;
};

// The bytes mapped at a moment (an Op::kMapped record: not a call).
struct Mapped {
  uint64_t time;
  uint64_t zones, large;  // bytes in zones, in LARGE mappings
};

struct Log {
  Header header;
  Call *calls;        // sorted by time; in a mapping of its own (off_heap.h)
  size_t count;
  Mapped *mapped;     // sorted by time, likewise
  size_t mapped_count;
  uint32_t threads;   // distinct thread ids
  uint32_t max_id;
};

// The exit status of the heap tools when a file they read or write is missing, truncated, of
// another version or cannot be written (README.md, "Looking at your heap").
inline constexpr int kBadFile = 2;

// Reads and checks PATH's header; says why on stderr unless `quiet`.
bool read_header(const char *path, Header *h, bool quiet);

// Reads every written record; unwritten (zero) slots and blocks are skipped. False (and a line on
// stderr naming PATH and what is wrong) when PATH cannot be read, is truncated (a log only ever
// grows by whole blocks) or is not a call log this tool reads.
bool load_log(const char *path, Log *log);

// Gives back what load_log took.
void unload_log(Log *log);

// How another log of the run is related to a process already in the run.
enum class Relation : uint8_t {
  kExec,       // a later program (exec) of that pid: same pid
  kForkChild,  // a fork child of that pid (its log continues the parent's)
  kStartedBy,  // a program started by that pid
};

struct RelatedLog {
  char name[PATH_MAX + 300];
  Header h;
  Relation how;
  uint64_t of_pid;  // the process of the run it is related to
};

// The other logs of the same run as PATH (whose header is `root`), FILE.<pid>[.<n>]: those of
// fork children, of programs started by a process of the run, and of later images (exec) of its
// processes, followed down the tree, in the order found. Stores a malloc'ed array in *out (free
// it) and returns its length; 0 when there are none or the directory cannot be read.
size_t find_related_logs(const char *path, const Header &root, RelatedLog **out);

}  // namespace ft_heap
