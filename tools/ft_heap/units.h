// Numbers for people, in the heap tools' texts and pictures, and text made safe inside their
// markup (SVG, HTML).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

namespace ft_heap {

// "512 B", "64 KiB", "1.3 MiB"; returns buf.
const char *human_bytes(char *buf, size_t size, uint64_t bytes);
// ns as "850 us", "12.5 ms", "3.20 s"; returns buf.
const char *human_time(char *buf, size_t size, uint64_t ns);
// Writes s with <, >, & and " escaped (XML and HTML).
void write_escaped(FILE *f, const char *s);

}  // namespace ft_heap
