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
  bool tcache = true;  // FT_MALLOC_TCACHE=0: no per-thread cache, every call takes the lock
};

extern Config g_config;

void ensure_init();

}  // namespace ft
