// Invariant checks of the debug build (make debug: -DFT_DEBUG=1). FT_ASSERT(cond) sits on the
// paths that change chunk state (a zone's take and give, the live bits) and costs nothing in a
// normal build. The cheap always-on checks of what programs hand in (magic, registry, live bit)
// are not assertions: they report the misuse (misuse_report.h) in every build.
#pragma once

namespace ft {

[[noreturn, gnu::cold]] void assertion_failed(const char *what, const char *file, int line);

}  // namespace ft

#if FT_DEBUG
#define FT_ASSERT(cond) (__builtin_expect(!!(cond), 1) ? (void)0 : ft::assertion_failed(#cond, __FILE__, __LINE__))
#else
#define FT_ASSERT(cond) ((void)0)
#endif
