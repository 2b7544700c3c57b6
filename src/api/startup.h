// Start-up: what the allocator sets up once, at the first slow call of the process (or in the
// reporters' constructor, whichever comes first): the page size, the process secret, the
// settings, the fork handlers, the call log. It lives at the top so that it can call down into
// every layer. The entry points (malloc_api.cpp) call ensure_started() on their slow paths; the
// fast paths cannot run before it (a thread's cache is attached on a slow path), and nothing
// below the API asks whether start-up ran: until it does, every setting is its constant default.
#pragma once

namespace ft {

void start_slow();

enum : int { kNotStarted, kStarting, kStarted };
extern int g_start_state;

inline void ensure_started() {
  if (__builtin_expect(__atomic_load_n(&g_start_state, __ATOMIC_ACQUIRE) != kStarted, 0)) start_slow();
}

}  // namespace ft
