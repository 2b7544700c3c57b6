// The settings: every FT_MALLOC_ variable, read once from the environment at start-up
// (api/startup.cpp calls read_environment()), constant-initialised to the defaults until then.
// The table of settings, their values and their fallbacks is in settings.cpp.
#pragma once
#include <cstdint>

namespace ft {

enum class ErrorMode : uint8_t {
  kAbort,   // default: report the misuse on stderr, then abort()
  kWarn,    // FT_MALLOC_ERRORS=warn: report it and ignore the call
  kIgnore,  // FT_MALLOC_ERRORS=ignore: ignore the call silently
};

struct Config {
  ErrorMode errors = ErrorMode::kAbort;
  bool tcache = true;     // FT_MALLOC_TCACHE=0: no per-thread cache, every call takes the lock
  bool large_cache = true;  // FT_MALLOC_LARGE_CACHE=0: every freed LARGE mapping unmapped at once
  bool scribble = false;  // FT_MALLOC_SCRIBBLE=1: new blocks 0xAA, freed ones 0x55
  bool guard = false;     // FT_MALLOC_GUARD=1: LARGE blocks end against a PROT_NONE page
  bool check = false;     // FT_MALLOC_CHECK=1: a canary after every block
  bool leaks = false;     // FT_MALLOC_LEAKS=1: record call sites, report live blocks at exit
  bool stacks = false;    // call stacks recorded: FT_MALLOC_LEAKS or a heap profile (debug/leaks.h)
  bool trace = false;     // FT_MALLOC_TRACE=FILE: log every call
  bool valgrind = false;  // running under valgrind, in a VALGRIND=1 build (base/valgrind_hooks.h)
  // Debug modes need the slow paths, where their hooks are: they turn the thread cache off.
  // Worked out once, with the environment (read_environment): the slow paths test it often.
  bool any_debug = false;
  bool debug() const { return any_debug; }

  // Reports at exit and on demand (api/exit_reports.cpp); file names copied at start-up.
  enum : uint8_t { kNoDump, kDump, kDumpEx } dump = kNoDump;  // FT_MALLOC_DUMP=1 or =ex
  bool stats = false;          // FT_MALLOC_STATS=1
  int dump_signal = 0;         // FT_MALLOC_DUMP_SIGNAL=USR1 (or a number): dump on that signal
  unsigned every = 0;          // FT_MALLOC_EVERY=SECONDS: a one-line summary that often
  bool verbose = false;        // FT_MALLOC_VERBOSE=1: the effective settings at start-up
};

extern Config g_config;

// The files the reports go to, copied at start-up: 3.5 KiB of buffers kept out of Config, with
// the big zero-filled tables (base/compiler.h FT_BIG_TABLE), so that the settings the slow paths
// read share their page with the other small globals, and a program that names no file touches
// none of these pages (reading them maps the zero page).
struct ReportPaths {
  static constexpr unsigned kPathMax = 512;
  char out[kPathMax];           // FT_MALLOC_OUT=FILE: reports there instead of stderr
  char svg[kPathMax];           // FT_MALLOC_SVG=FILE: heap map at exit
  char json[kPathMax];          // FT_MALLOC_JSON=FILE: heap snapshot at exit
  char trace[kPathMax];         // FT_MALLOC_TRACE=FILE: the call log
  char folded[kPathMax];        // FT_MALLOC_FOLDED=FILE: live bytes per stack (flame graph)
  char folded_alloc[kPathMax];  // FT_MALLOC_FOLDED_ALLOC=FILE: allocated bytes per stack
  char pprof[kPathMax];         // FT_MALLOC_PPROF=FILE: gperftools' heap profile
};

extern ReportPaths g_paths;

// Reads every setting from the environment, says what is wrong with any, prints them under
// FT_MALLOC_VERBOSE. Once, at start-up; allocates nothing.
void read_environment();

// mallopt(): 1 for the glibc parameters that make sense here, 0 for the others.
int set_option(int param, int value);

}  // namespace ft
