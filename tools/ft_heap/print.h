// ft_heap --print FILE: a call log as text (README.md, "Looking at your heap").
#pragma once

namespace ft_heap {

// Prints PATH's calls on stdout, one a line in time order, then its run's other logs. Returns the
// exit status: 0, or 1 when PATH is not a readable call log (the reason on stderr).
int print_log(const char *path);

}  // namespace ft_heap
