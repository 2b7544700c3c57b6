#include "base/debug_assert.h"

#include <stdlib.h>

#include "base/line_writer.h"

namespace ft {

void assertion_failed(const char *what, const char *file, int line) {
  {
    LineWriter out(2);
    out.str("ft_malloc: internal error: ").str(file).ch(':').dec(static_cast<uint64_t>(line));
    out.str(": assertion failed: ").str(what).ch('\n');
  }
  abort();
}

}  // namespace ft
