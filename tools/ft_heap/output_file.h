// The files the heap tools write (--massif, --timeline, --html): written under a temporary name
// beside the output, renamed over it once complete, so that nothing half-written is ever left
// under the output's name. A failure is one line on stderr naming the file and what is wrong.
#pragma once
#include <stdio.h>

namespace ft_heap {

struct Output {
  FILE *f;
  const char *path;
  char *tmp;
};

// False (and the line on stderr) when PATH cannot be written.
bool open_output(const char *path, Output *out);
// Flushes, renames into place; false (the temporary removed, the line on stderr) on any error.
bool commit_output(Output *out);
// Removes the temporary (the output is not wanted after all).
void discard_output(Output *out);
// Says on stderr that PATH cannot be written, as open_output does.
void report_unwritable(const char *path, int err);

}  // namespace ft_heap
