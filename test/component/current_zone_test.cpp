/*
 * Component test of which zone a class's cache serves from (src/tcache/own_zones.cpp: the current
 * zone follows the thread's frees). A thread holding a few more blocks of a class than one zone
 * fills that zone, and the next becomes current; when its frees and mallocs then land in the full
 * zone, that zone must become the current one, which the fast paths serve without the registry
 * or the zone header. And a zone made current drops the stack's entries above the count.
 * Built against build/ft_malloc_internal.o (test/component/component.mk).
 */
#include <pthread.h>

#include "common.h"

#include "base/size_class.h"
#include "tcache/thread_cache.h"
#include "zone/registry.h"
#include "zone/zone.h"

namespace ft::tcache {
void make_current(ClassCache &cc, Zone *z);  // own_zones.cpp; its header leaves it out (the cache's own)
}  // namespace ft::tcache

namespace {

constexpr size_t kSize = 64;

struct Seen {
  bool ok;                 // every malloc succeeded
  bool second_current;     // after the first fill, the current zone was not the first one
  bool first_current;      // after the churn, the first zone was the current one
  unsigned in_first;       // blocks held in the first zone after the churn
  int problems;            // ft_malloc_check() after everything was freed
};

uint64_t next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

void *in_a_new_thread(void *arg) {
  auto *seen = static_cast<Seen *>(arg);
  unsigned c = ft::class_of(kSize);
  unsigned n = ft::kLayouts[c].chunks + ft::kLayouts[c].chunks / 4;  // one zone and a quarter
  void **blocks = static_cast<void **>(calloc(n, sizeof(void *)));
  if (!blocks) return nullptr;
  seen->ok = true;
  for (unsigned k = 0; k < n; k++)
    if (!(blocks[k] = malloc(kSize))) seen->ok = false;
  ft::ThreadCache *tc = ft::own_cache();
  if (!seen->ok || !tc) return nullptr;
  ft::Zone *first = ft::registry::lookup(blocks[0]);
  seen->second_current = ft::class_cache(tc, c).current != first;
  // Frees of the first zone's blocks, each followed by a malloc of the class, as a program that
  // replaces some of its nodes does.
  uint64_t s = 88172645463325252ull;
  for (unsigned step = 0; step < 20000; step++) {
    unsigned k = static_cast<unsigned>(next(&s) % n);
    if (ft::registry::lookup(blocks[k]) != first) continue;
    free(blocks[k]);
    if (!(blocks[k] = malloc(kSize))) seen->ok = false;
  }
  seen->first_current = ft::class_cache(tc, c).current == first;
  seen->in_first = 0;
  for (unsigned k = 0; k < n; k++) seen->in_first += ft::registry::lookup(blocks[k]) == first;
  for (unsigned k = 0; k < n; k++) free(blocks[k]);
  free(blocks);
  seen->problems = ft_malloc_check();
  return seen;
}

// A zone made current drops the stack's entries above the count (own_zones.cpp make_current):
// free's first test takes an entry equal to the block, within the current zone's span, for a
// chunk's start (cache_fast_path.h last_popped). On a copy of the thread's class cache, its
// entries above a count of 5 filled with a stale value: after make_current, zero; below, kept.
struct Cleared {
  bool ok;            // the thread had a cache and a current zone of the class
  bool kept;          // the entries under the count unchanged
  bool zeroed;        // every entry above it zero
  bool current;       // the copy's current zone is the zone
};

void *make_current_in_a_new_thread(void *arg) {
  auto *seen = static_cast<Cleared *>(arg);
  unsigned c = ft::class_of(kSize);
  void *block = malloc(kSize);
  ft::ThreadCache *tc = ft::own_cache();
  if (!block || !tc || !ft::class_cache(tc, c).current) return seen;
  seen->ok = true;
  ft::Zone *z = ft::class_cache(tc, c).current;
  static ft::ClassCache copy;  // aligned as its type says (512 B)
  memcpy(&copy, &ft::class_cache(tc, c), sizeof copy);
  constexpr uint32_t kCount = 5;
  copy.count = kCount;
  for (uint32_t k = 0; k < ft::kCacheSlots; k++) copy.slot[k] = k < kCount ? 0x1000 + k : 0xdead0000 + k;
  ft::tcache::make_current(copy, z);
  seen->kept = seen->zeroed = true;
  for (uint32_t k = 0; k < ft::kCacheSlots; k++) {
    if (k < kCount && copy.slot[k] != 0x1000 + k) seen->kept = false;
    if (k >= kCount && copy.slot[k] != 0) seen->zeroed = false;
  }
  seen->current = copy.current == z;
  free(block);
  return seen;
}

// fn(arg) in a thread of its own (a cache of its own, from its first malloc); fn returns arg when
// it got as far as it needs to.
void run_in_a_new_thread(void *(*fn)(void *), void *arg) {
  pthread_t t;
  void *got = nullptr;
  CHECK(pthread_create(&t, nullptr, fn, arg) == 0, "pthread_create failed");
  CHECK(pthread_join(t, &got) == 0 && got == arg, "the thread found no cache, or a malloc failed");
}

}  // namespace

TEST(zone_made_current_drops_entries_above_count)
{
    Cleared seen = {};
    run_in_a_new_thread(make_current_in_a_new_thread, &seen);
    CHECK(seen.ok, "the thread had no cache or no current zone of the class");
    CHECK(seen.kept, "make_current changed the stack's entries under its count");
    CHECK(seen.zeroed, "make_current left an entry above the count: free's first test could take it for a chunk");
    CHECK(seen.current, "the copy's current zone is not the zone made current");
}

/* One zone of 64 B blocks filled, a quarter of another; then frees and mallocs of the first
 * zone's blocks: the first zone becomes current, and the heap is sound after all is freed. */
TEST(current_zone_follows_frees)
{
    Seen seen = {};
    run_in_a_new_thread(in_a_new_thread, &seen);
    CHECK(seen.ok, "a malloc failed");
    CHECK(seen.second_current, "after the first zone filled, it was still the current one (the test needs two zones)");
    CHECK(seen.in_first > 0, "no block was left in the first zone");
    CHECK(seen.first_current, "the zone that received the frees (%u blocks held) did not become the current one",
          seen.in_first);
    CHECK(seen.problems == 0, "ft_malloc_check found %d problems", seen.problems);
}

static const test_case cases[] = {
    CASE(current_zone_follows_frees),
    CASE(zone_made_current_drops_entries_above_count),
};

RUN_CASES(cases)
