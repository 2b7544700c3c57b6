/*
 * Component test of a fork child's hand-over of the other threads' zones (src/tcache/thread_cache.cpp
 * after_fork_in_child). A thread changes the lists of the zones its cache owns without the heap
 * lock, and fork() copies it wherever it stands: halfway through a list_unlink, or between the
 * unlink and the push that move a zone from one list to another. The child must give every one of
 * that thread's zones to the pool, once. The test stops such a change halfway by hand, in the
 * parent, while the owner thread waits, then forks:
 *   - half_unlinked: the partial list's head already points past a zone whose neighbour still
 *     points back at it. Walking that list gave the neighbour up twice: linked twice on the
 *     pool's list, the child's next refill of the class took it again and again, for ever (the
 *     twelfth round's stress runs: 2 children of 1,000 hung);
 *   - between_lists: a zone unlinked and not yet pushed on its next list, which a walk of the
 *     lists never finds: it stayed owned by a cache without a thread, its free chunks lost.
 * Built against build/ft_malloc_internal.o (test/component/component.mk).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#include "base/size_class.h"
#include "tcache/own_zones.h"
#include "tcache/thread_cache.h"
#include "zone/registry.h"
#include "zone/zone.h"

namespace {

constexpr size_t kSize = 64;

struct Owner {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  bool ready = false, done = false, ok = false;
  ft::ThreadCache *tc = nullptr;
  void **blocks = nullptr;
  unsigned n = 0;
};

// Fills three zones of the class, then frees every fourth block of the first two: they go to the
// partial list (the second at its head, the first after it), the third stays current. Then waits
// until the test is done with its lists.
void *owner_thread(void *arg) {
  auto *o = static_cast<Owner *>(arg);
  unsigned c = ft::class_of(kSize);
  o->n = ft::kLayouts[c].chunks * 2 + ft::kLayouts[c].chunks / 2;
  o->blocks = static_cast<void **>(calloc(o->n, sizeof(void *)));
  bool ok = o->blocks != nullptr;
  for (unsigned k = 0; ok && k < o->n; k++) ok = (o->blocks[k] = malloc(kSize)) != nullptr;
  for (unsigned k = 0; ok && k < ft::kLayouts[c].chunks * 2; k += 4) {
    free(o->blocks[k]);
    o->blocks[k] = nullptr;
  }
  pthread_mutex_lock(&o->mu);
  o->ok = ok;
  o->tc = ft::own_cache();
  o->ready = true;
  pthread_cond_broadcast(&o->cv);
  while (!o->done) pthread_cond_wait(&o->cv, &o->mu);
  pthread_mutex_unlock(&o->mu);
  for (unsigned k = 0; ok && k < o->n; k++) free(o->blocks[k]);
  free(o->blocks);
  return nullptr;
}

// The child: blocks of the class until the pool must give zones out, each written and checked,
// then the heap checked. Exit status 0 when all is well; a loop in the allocator meets the alarm.
[[noreturn]] void child_allocates(unsigned zones_worth) {
  alarm(10);
  unsigned c = ft::class_of(kSize);
  unsigned n = ft::kLayouts[c].chunks * zones_worth;
  auto **b = static_cast<unsigned char **>(malloc(n * sizeof(void *)));
  if (!b) _exit(2);
  for (unsigned k = 0; k < n; k++) {
    if (!(b[k] = static_cast<unsigned char *>(malloc(kSize)))) _exit(2);
    memset(b[k], static_cast<int>(k & 0xff), kSize);
  }
  for (unsigned k = 0; k < n; k++)
    for (size_t i = 0; i < kSize; i++)
      if (b[k][i] != (k & 0xff)) _exit(3);
  for (unsigned k = 0; k < n; k++) free(b[k]);
  free(b);
  _exit(ft_malloc_check() == 0 ? 0 : 4);
}

struct Forked {
  int status;
  bool ran;
};

// Starts the owner, lets `stop_halfway` leave its lists as a fork would find them, forks a child
// running `child`, undoes the change in the parent, and lets the owner finish.
template <typename Stop, typename Undo, typename Child>
Forked fork_with_lists_halfway(Stop stop_halfway, Undo undo, Child child) {
  Owner o;
  Forked f = {0, false};
  pthread_t t;
  if (pthread_create(&t, nullptr, owner_thread, &o) != 0) return f;
  pthread_mutex_lock(&o.mu);
  while (!o.ready) pthread_cond_wait(&o.cv, &o.mu);
  pthread_mutex_unlock(&o.mu);
  if (o.ok && o.tc) {
    ft::ClassCache &cc = ft::class_cache(o.tc, ft::class_of(kSize));
    if (stop_halfway(cc)) {
      pid_t pid = fork();
      if (pid == 0) child(cc);
      undo(cc);
      if (pid > 0 && waitpid(pid, &f.status, 0) == pid) f.ran = true;
    }
  }
  pthread_mutex_lock(&o.mu);
  o.done = true;
  pthread_cond_broadcast(&o.cv);
  pthread_mutex_unlock(&o.mu);
  pthread_join(t, nullptr);
  return f;
}

const char *how_it_ended(int status) {
  static char text[64];
  if (WIFSIGNALED(status))
    snprintf(text, sizeof text, "killed by signal %d%s", WTERMSIG(status),
             WTERMSIG(status) == SIGALRM ? " (the alarm: it looped)" : "");
  else
    snprintf(text, sizeof text, "exit status %d", WEXITSTATUS(status));
  return text;
}

}  // namespace

/* The owner's partial list caught halfway through list_unlink of its head Z: the head already Z's
 * successor Y, whose prev still points at Z. */
TEST(half_unlinked)
{
    ft::Zone *z = nullptr;
    Forked f = fork_with_lists_halfway(
        [&](ft::ClassCache &cc) {
            z = cc.partial.head;
            if (!z || !z->next) return false;
            cc.partial.head = z->next;  // list_unlink's first store, its second not made
            return true;
        },
        [&](ft::ClassCache &cc) { cc.partial.head = z; },
        [](ft::ClassCache &) { child_allocates(4); });
    CHECK(z != nullptr, "the owner thread's partial list had fewer than two zones (the test needs them)");
    CHECK(f.ran, "fork or waitpid failed");
    CHECK(WIFEXITED(f.status) && WEXITSTATUS(f.status) == 0,
          "the child of a fork that found a list halfway through an unlink: %s", how_it_ended(f.status));
}

/* A zone of the owner's partial list unlinked and not yet pushed on its next list: in no list of
 * the cache. The child must give it to the pool all the same. */
TEST(between_lists)
{
    ft::Zone *z = nullptr;
    Forked f = fork_with_lists_halfway(
        [&](ft::ClassCache &cc) {
            z = cc.partial.head;
            if (!z) return false;
            ft::tcache::list_unlink(cc.partial, z);
            return true;
        },
        [&](ft::ClassCache &cc) {
            z->next = cc.partial.head;  // back at the head, as it was (list_push's stores)
            if (cc.partial.head) cc.partial.head->prev = z;
            cc.partial.head = z;
            z->list = ft::kOwnedPartial;
        },
        [&](ft::ClassCache &) {
            // The heap check reads every zone: the other thread's go to the pool first. Then the
            // zone's owner in the registry is nobody; the owner's id otherwise, for ever: a
            // cache without a thread.
            if (ft_malloc_check() != 0) _exit(6);
            uintptr_t e = ft::registry::lookup_entry(z);
            if (ft::registry::entry_owner(e) != 0) _exit(5);
            child_allocates(1);
        });
    CHECK(z != nullptr, "the owner thread's partial list was empty (the test needs a zone there)");
    CHECK(f.ran, "fork or waitpid failed");
    CHECK(WIFEXITED(f.status) && WEXITSTATUS(f.status) == 0,
          "the child of a fork that found a zone between two lists: %s%s", how_it_ended(f.status),
          WIFEXITED(f.status) && WEXITSTATUS(f.status) == 5 ? " (the zone still owned by the parent's thread)"
          : WIFEXITED(f.status) && WEXITSTATUS(f.status) == 6 ? " (ft_malloc_check found damage)" : "");
}

static const test_case cases[] = {
    CASE(half_unlinked),
    CASE(between_lists),
};

RUN_CASES(cases)
