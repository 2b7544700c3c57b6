#include "tools/ft_heap/units.h"

#include <stdio.h>

namespace ft_heap {

const char *human_bytes(char *buf, size_t size, uint64_t bytes) {
  const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  unsigned u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  if (!u) snprintf(buf, size, "%llu B", static_cast<unsigned long long>(bytes));
  else snprintf(buf, size, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

const char *human_time(char *buf, size_t size, uint64_t ns) {
  if (ns < 1000000) snprintf(buf, size, "%.0f us", static_cast<double>(ns) / 1e3);
  else if (ns < 1000000000) snprintf(buf, size, "%.1f ms", static_cast<double>(ns) / 1e6);
  else snprintf(buf, size, "%.2f s", static_cast<double>(ns) / 1e9);
  return buf;
}

void write_escaped(FILE *f, const char *s) {
  for (; *s; ++s) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else if (*s == '"') fputs("&quot;", f);
    else fputc(*s, f);
  }
}

}  // namespace ft_heap
