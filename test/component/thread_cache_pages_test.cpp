/*
 * Component test of the thread cache's layout (src/tcache/thread_cache.h): a class's 512 bytes
 * are placed when the class starts serving, in the order classes start, and found through the
 * cache's index; a class never used points at the read-only empty class. So a thread of a few
 * classes writes one page of its cache, whatever the classes (with the classes at fixed places,
 * 16 B, 1 KiB and 64 KiB blocks wrote three pages of it).
 * Built against build/ft_malloc_internal.o (test/component/component.mk).
 */
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#include "base/size_class.h"
#include "tcache/thread_cache.h"

namespace {

constexpr size_t kSizes[] = {16, 1000, 60000};  // classes far apart: 0, 23, 47

struct Seen {
  unsigned resident_pages, cache_pages;
  bool placed_in_order, others_unused;
};

void *in_a_new_thread(void *arg) {
  auto *seen = static_cast<Seen *>(arg);
  void *blocks[3];
  for (unsigned k = 0; k < 3; k++) {
    blocks[k] = malloc(kSizes[k]);
    if (!blocks[k]) return nullptr;
  }
  for (unsigned k = 0; k < 3; k++) free(blocks[k]);
  ft::ThreadCache *tc = ft::own_cache();
  if (!tc) return nullptr;
  seen->placed_in_order = true;
  uint64_t used = 0;
  for (unsigned k = 0; k < 3; k++) {
    unsigned c = ft::class_of(kSizes[k]);
    used |= uint64_t{1} << c;
    if (tc->class_of[c] != &tc->pool[k]) seen->placed_in_order = false;
  }
  seen->others_unused = tc->used_classes == used;
  for (unsigned c = 0; c < ft::kCachedClasses; c++)
    if (!(used >> c & 1) && tc->class_of[c] != ft::unused_class()) seen->others_unused = false;
  size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  size_t len = (sizeof(ft::ThreadCache) + page - 1) / page * page;
  unsigned char vec[64];
  seen->cache_pages = static_cast<unsigned>(len / page);
  if (seen->cache_pages > sizeof vec || mincore(tc, len, vec) != 0) return nullptr;
  seen->resident_pages = 0;
  for (unsigned k = 0; k < seen->cache_pages; k++) seen->resident_pages += vec[k] & 1;
  return seen;
}

}  // namespace

/* A new thread's cache, used for three classes far apart: placed in the order they started,
 * every other class the empty one, one page of the cache's eight resident. */
TEST(few_classes_write_one_page)
{
    Seen seen = {};
    pthread_t t;
    void *got = nullptr;
    CHECK(pthread_create(&t, nullptr, in_a_new_thread, &seen) == 0, "pthread_create failed");
    CHECK(pthread_join(t, &got) == 0 && got == &seen, "the thread found no cache, or mincore failed");
    CHECK(seen.placed_in_order, "the classes are not placed in the order they started");
    CHECK(seen.others_unused, "a class the thread never used is placed, or not the empty class");
    CHECK(seen.resident_pages == 1, "%u of the cache's %u pages resident, 1 expected", seen.resident_pages,
          seen.cache_pages);
}

/* The empty class is never written: it sits in RELRO, read-only after relocation. */
TEST(empty_class_is_read_only)
{
    // A store must fault: tried in a child, which must die of SIGSEGV.
    pid_t pid = fork();
    CHECK(pid >= 0, "fork failed");
    if (pid == 0) {
        ft::unused_class()->count = 1;
        _exit(0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid, "waitpid failed");
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV, "a store into the empty class did not fault");
    CHECK(ft::unused_class()->count == 0 && ft::unused_class()->span == 0, "the empty class is not empty");
}

static const test_case cases[] = {
    CASE(few_classes_write_one_page),
    CASE(empty_class_is_read_only),
};

RUN_CASES(cases)
