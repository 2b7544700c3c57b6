// The per-process secret (from the kernel's AT_RANDOM bytes): zone magics and canaries are keyed
// with it, so that a forged zone header or a replayed canary does not pass.
#pragma once
#include <cstdint>

namespace ft {

extern uint64_t g_secret;

// Once, at start-up (api/startup.cpp). Until then the secret is a fixed odd constant.
void read_secret();

}  // namespace ft
