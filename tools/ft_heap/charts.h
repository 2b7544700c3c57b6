// Charts of a call log's heap over time (heap_series.h), in formats other tools read:
//   ft_heap --massif LOG OUT      valgrind massif's massif.out (ms_print, massif-visualizer)
//   ft_heap --timeline LOG OUT    an SVG picture: live bytes, bytes in zones and in LARGE mappings
// Each returns the exit status: 0, or kBadFile (call_log_reader.h) with one line on stderr.
#pragma once
#include <stdio.h>

#include "tools/ft_heap/call_log_reader.h"

namespace ft_heap {

int massif_from_log(const char *log_path, const char *out_path);
int timeline_from_log(const char *log_path, const char *out_path);

// The timeline of a loaded log as an <svg> element, for the --html page too.
void write_timeline_svg(FILE *out, const Log &log, const char *title);

}  // namespace ft_heap
