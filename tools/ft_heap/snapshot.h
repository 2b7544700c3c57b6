// The JSON snapshots ft_malloc writes (FT_MALLOC_JSON, ft_heap --json; README.md, "JSON snapshot
// schema"), read back for --diff and --html.
#pragma once
#include "tools/ft_heap/json_reader.h"

namespace ft_heap {

// The snapshot schema this ft_heap reads ("version").
inline constexpr uint64_t kSnapshotVersion = 1;

// PATH read and checked: an ft_malloc snapshot of the version this tool reads. nullptr, with one
// line on stderr naming PATH and what is wrong, when not.
const JsonValue *load_snapshot(const char *path);

// A site's frames joined as the leak report joins them ("a <- b <- c"); malloc'ed.
char *site_name(const JsonValue &site);

}  // namespace ft_heap
