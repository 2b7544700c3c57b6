// The deep check behind ft_malloc_check(): every zone header, bitmap and count, and under
// FT_MALLOC_CHECK every block's canary. O(heap): for tests and debugging, never on a hot path.
#pragma once

namespace ft {

// Reports the first damage found on stderr; returns the number of problems (0: the heap is sound).
int check_heap();

}  // namespace ft
