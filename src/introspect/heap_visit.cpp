#include "introspect/heap_visit.h"

#include "heap/fork_rescue.h"
#include "os/heap_lock.h"
#include "os/mapping.h"
#include "tcache/thread_cache.h"
#include "zone/zone_pool.h"

namespace ft {
namespace {

struct Collect {
  RegionView *out;
  size_t n;
};

void add_large(const LargeBlock &b, void *ctx) {
  auto *c = static_cast<Collect *>(ctx);
  c->out[c->n++] = RegionView{Kind::kLarge, b.base, b.map_len, nullptr, &b};
}

// Heapsort by address: in place, O(n log n), nothing allocated.
void sift_down(RegionView *a, size_t root, size_t n) {
  for (size_t child; (child = 2 * root + 1) < n; root = child) {
    if (child + 1 < n && a[child + 1].base > a[child].base) ++child;
    if (a[root].base >= a[child].base) return;
    RegionView t = a[root];
    a[root] = a[child];
    a[child] = t;
  }
}

void sort_by_address(RegionView *a, size_t n) {
  for (size_t i = n / 2; i-- > 0;) sift_down(a, i, n);
  for (size_t end = n; end-- > 1;) {
    RegionView t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift_down(a, 0, end);
  }
}

}  // namespace

uint32_t live_chunks(const Zone *z) {
  uint32_t n = 0;
  for (uint32_t w = 0; w < z->layout().words; ++w)
    n += static_cast<uint32_t>(__builtin_popcountll(z->live_word(w)));
  return n;
}

size_t visit_heap(void (*fn)(const RegionView &, void *), void *ctx) {
  if (rescue::on()) return 0;  // the inherited heap may be halfway through a change
  tcache::give_up_orphans_if_any();  // a fork child's zones of the parent's other threads: counted again
  HeapLock lock;
  size_t n = zone_pool::zone_count() + large::count();
  if (!n) return 0;
  size_t bytes = os::round_to_pages(n * sizeof(RegionView));
  // The scratch array comes straight from mmap: the dump must not allocate from the heap it shows.
  auto *regions = static_cast<RegionView *>(os::map(bytes));
  if (!regions) return 0;
  Collect c{regions, 0};
  for (Zone *z = zone_pool::all_zones(); z; z = z->next_all)
    regions[c.n++] = RegionView{kind_of_class(z->class_index), z->base(), z->layout().zone_size, z, nullptr};
  large::for_each(add_large, &c);
  sort_by_address(regions, c.n);
  for (size_t i = 0; i < c.n; ++i) fn(regions[i], ctx);
  os::unmap(regions, bytes);
  return c.n;
}

}  // namespace ft
