#include "debug/call_stack.h"

#include <execinfo.h>
#include <unwind.h>

// libgcc_s's unwinder, weak: a C program linked with -lft_malloc would otherwise load libgcc_s at
// start-up for a debug mode it rarely turns on (25 pages touched, most of the 42 page-reclaim
// scale's test2). A C++ program has it anyway; a C program gets glibc's backtrace() (prepare()).
extern "C" {
_Unwind_Reason_Code _Unwind_Backtrace(_Unwind_Trace_Fn, void *) __attribute__((weak));
_Unwind_Ptr _Unwind_GetIP(struct _Unwind_Context *) __attribute__((weak));
}

namespace ft::call_stack {
namespace {

// The unwinder may allocate on its first use: that nested call is simply not recorded.
__thread bool t_unwinding __attribute__((tls_model("initial-exec"))) = false;

// Room for the allocator's own frames above the caller's.
constexpr unsigned kUnwound = kMaxDepth + 16;

struct Unwind {
  uintptr_t frames[kUnwound];
  unsigned n;
  bool more;  // the stack goes on past kUnwound frames
};

_Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg) {
  auto *u = static_cast<Unwind *>(arg);
  if (u->n == kUnwound) {
    u->more = true;
    return _URC_END_OF_STACK;
  }
  u->frames[u->n++] = _Unwind_GetIP(ctx);
  return _URC_NO_REASON;
}

}  // namespace

void prepare() {
  if (&_Unwind_Backtrace && &_Unwind_GetIP) return;
  // glibc's backtrace() loads libgcc_s on its first call, with malloc: once here, at start-up
  // (its blocks are not recorded), never again inside a malloc.
  void *frames[2];
  t_unwinding = true;
  backtrace(frames, 2);
  t_unwinding = false;
}

unsigned capture(void *caller, uintptr_t *frames, bool *cut) {
  *cut = false;
  if (t_unwinding) return 0;
  Unwind u;
  u.n = 0;
  u.more = false;
  t_unwinding = true;
  if (&_Unwind_Backtrace && &_Unwind_GetIP) {
    _Unwind_Backtrace(collect, &u);
  } else {
    void *raw[kUnwound];
    int n = backtrace(raw, static_cast<int>(kUnwound));
    for (int i = 0; i < n; ++i) u.frames[u.n++] = reinterpret_cast<uintptr_t>(raw[i]);
    u.more = u.n == kUnwound;
  }
  t_unwinding = false;
  // Drop the allocator's own frames: keep from the caller of the entry point on.
  unsigned from = u.n;
  for (unsigned i = 0; i < u.n; ++i)
    if (u.frames[i] == reinterpret_cast<uintptr_t>(caller)) {
      from = i;
      break;
    }
  if (from == u.n) {
    frames[0] = reinterpret_cast<uintptr_t>(caller);
    return 1;
  }
  unsigned depth = 0;
  while (depth < kMaxDepth && from + depth < u.n && u.frames[from + depth]) {
    frames[depth] = u.frames[from + depth];
    ++depth;
  }
  *cut = (from + depth < u.n && u.frames[from + depth]) || (from + depth == u.n && u.more);
  return depth;
}

}  // namespace ft::call_stack
