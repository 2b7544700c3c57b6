// An in-place sort that allocates nothing (heapsort: O(n log n), no recursion), for the reports
// written at exit from inside the allocator, where std::sort's helpers are not to be relied on.
#pragma once
#include <cstddef>

namespace ft {

// Sorts a[0..n) so that less(a[i], a[j]) never holds for i > j.
template <typename T, typename Less>
void heap_sort(T *a, size_t n, Less less) {
  auto sift = [&](size_t root, size_t end) {
    for (size_t child; (child = 2 * root + 1) < end; root = child) {
      if (child + 1 < end && less(a[child], a[child + 1])) ++child;
      if (!less(a[root], a[child])) return;
      T t = a[root];
      a[root] = a[child];
      a[child] = t;
    }
  };
  for (size_t i = n / 2; i-- > 0;) sift(i, n);
  for (size_t end = n; end-- > 1;) {
    T t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift(0, end);
  }
}

}  // namespace ft
