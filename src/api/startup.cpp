#include "api/startup.h"
#include "base/compiler.h"

#include <sched.h>
#include <unistd.h>

#include "api/fork_handlers.h"
#include "base/secret.h"
#include "base/settings.h"
#include "debug/call_log.h"
#include "debug/leaks.h"
#include "os/fault_around.h"
#include "os/mapping.h"
#include "tcache/thread_cache.h"

// The ends of the preloaded library's core and hot text (src/api/hot_text.ld); null in a static
// link.
extern "C" const char __ft_core_text_end[] __attribute__((weak, visibility("hidden")));
extern "C" const char __ft_hot_text_end[] __attribute__((weak, visibility("hidden")));

namespace ft {

constinit int g_start_state = kNotStarted;

namespace {
// What start-up asks of libc after the page size: the auxiliary vector, the environment, the
// fork handlers' registration, the thread cache's key. Parts of libc a program may never run,
// and whose 64 KiB windows of constants the kernel maps in whole: start_slow drops what they
// faulted in (os/fault_around.h).
FT_CORE_TEXT void start_with_libc() {
  read_secret();
  read_environment();
  __atomic_store_n(&g_start_state, kStarted, __ATOMIC_RELEASE);
  // After kStarted: pthread_atfork may itself call malloc, which must then find us ready.
  install_fork_handlers();
  // The starting thread's cache now, not at its first malloc (mimalloc sets up its main heap at
  // load too): a process writes the cache's first page once either way, and a first malloc then
  // touches only its zone's page and the registry's two (the 42 page-reclaim scale's test2 -
  // test0: 4 -> 3). Here, since the thread-specific key it makes runs libc code that a program
  // may never run again.
  tcache::attach();
}
}  // namespace

FT_CORE_TEXT void start_slow() {
  int expected = kNotStarted;
  if (__atomic_compare_exchange_n(&g_start_state, &expected, kStarting, false, __ATOMIC_ACQ_REL,
                                  __ATOMIC_ACQUIRE)) {
    // First what keeps pages of our own file out: fault-around has mapped the window of code
    // around the first instruction run; from here on, only core code runs unless the program
    // asks for more (realloc, LARGE blocks, threads...) or a report or a debug mode does.
    os::init_page_size();
    os::set_apart_unwind_tables(reinterpret_cast<const void *>(&start_slow));
    os::set_apart_text(__ft_core_text_end, __ft_hot_text_end);
    os::call_dropping_faulted_pages(start_with_libc, reinterpret_cast<const void *>(&getpagesize));
    if (g_config.trace) call_log::open(g_paths.trace);
    if (g_config.stacks) leaks::prepare();
    return;
  }
  // Another thread is reading the environment: a few instructions, no allocation.
  while (__atomic_load_n(&g_start_state, __ATOMIC_ACQUIRE) != kStarted) sched_yield();
}

}  // namespace ft

// Named by the preloaded library's -fini (Makefile) in place of the C runtime's empty _fini,
// which the linker puts after all of our text. Hidden, as the library exports the API only:
// GNU ld then leaves DT_FINI out altogether, and ld.so calls nothing at exit, which is all
// _fini did. Destructors run from .fini_array as before.
extern "C" __attribute__((visibility("hidden"), used)) void ft_library_fini() {}
