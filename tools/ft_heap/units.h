// Numbers for people, in the heap tools' texts and pictures.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace ft_heap {

// "512 B", "64 KiB", "1.3 MiB"; returns buf.
const char *human_bytes(char *buf, size_t size, uint64_t bytes);
// ns as "850 us", "12.5 ms", "3.20 s"; returns buf.
const char *human_time(char *buf, size_t size, uint64_t ns);

}  // namespace ft_heap
