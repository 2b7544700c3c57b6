// ft_heap --html FILE -- PROG: one self-contained page (no network: inline SVG, CSS and script)
// about PROG's heap, written when it ends: the heap map at exit (zoomable, a tooltip on every
// cell), the sizes of the live blocks, the top call sites, and with --trace the timeline.
// ft_heap runs PROG as a child with the library's snapshot files switched on in a folder of
// its own, then builds the page from them and removes them.
#pragma once
#include <limits.h>

namespace ft_heap {

struct HtmlInputs {
  const char *out;    // the page
  const char *trace;  // the call log (--trace), or nullptr
  char dir[PATH_MAX - 64];  // the folder of the files below, removed afterwards ("" when none was made)
  char svg[PATH_MAX], json[PATH_MAX], folded[PATH_MAX];
};

// Makes the folder and sets FT_MALLOC_SVG, FT_MALLOC_JSON and FT_MALLOC_FOLDED_ALLOC (which also
// records the call sites) to files in it, unless --svg or --json named their own. False (with the
// line on stderr) when it cannot.
bool prepare_html(const char *out, const char *trace, HtmlInputs *in);
// Builds the page once PROG has ended; 0, or kBadFile with the line on stderr.
int write_html(const HtmlInputs &in, char **argv);

}  // namespace ft_heap
