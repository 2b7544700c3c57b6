// ft_heap --replay FILE: a call log's calls made again in this process, timed (README.md,
// "Looking at your heap"), against whichever allocator is loaded.
#pragma once

namespace ft_heap {

// Makes PATH's calls again, one thread per thread of the log, and prints their count, time and
// peak RSS on stdout. Returns the exit status: 0, or 1 (the reason on stderr).
int replay_log(const char *path);

}  // namespace ft_heap
