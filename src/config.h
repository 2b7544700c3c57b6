// Start-up: the settings read once from the environment, the page size, the fork handlers.
// Nothing here runs on a hot path: the first zone or LARGE mapping and the error path call
// ensure_init(); everything it sets is constant-initialised until then.
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
  bool scribble = false;  // FT_MALLOC_SCRIBBLE=1: new blocks 0xAA, freed ones 0x55
  bool guard = false;     // FT_MALLOC_GUARD=1: LARGE blocks end against a PROT_NONE page
  bool check = false;     // FT_MALLOC_CHECK=1: a canary after every block
  // Debug modes need the slow paths, where their hooks are: they turn the thread cache off.
  bool debug() const { return scribble || guard || check; }
};

// Per-process secret (from the kernel's AT_RANDOM bytes): zone magics and canaries are keyed
// with it, so a forged zone header or a replayed canary does not pass.
extern uint64_t g_secret;

extern Config g_config;

void ensure_init();

}  // namespace ft
