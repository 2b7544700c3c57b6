#include "tools/ft_heap/snapshot.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace ft_heap {

const JsonValue *load_snapshot(const char *path) {
  const JsonValue *root = read_json_file(path);
  if (!root) return nullptr;
  const JsonValue *version = root->get("version");
  if (!version || version->type != JsonValue::kNumber || !root->get("classes") || !root->get("zones")) {
    fprintf(stderr, "ft_heap: %s: not an ft_malloc JSON snapshot (no \"version\", \"zones\" and \"classes\")\n", path);
    return nullptr;
  }
  if (version->number != kSnapshotVersion) {
    fprintf(stderr, "ft_heap: %s: JSON snapshot version %s, this ft_heap reads version %" PRIu64 "\n", path,
            version->string, kSnapshotVersion);
    return nullptr;
  }
  return root;
}

char *site_name(const JsonValue &site) {
  const JsonValue *frames = site.get("frames");
  size_t len = 1;
  for (size_t i = 0; frames && i < frames->count; ++i)
    if (frames->items[i].type == JsonValue::kString) len += strlen(frames->items[i].string) + 4;
  char *out = static_cast<char *>(malloc(len));
  out[0] = 0;
  for (size_t i = 0; frames && i < frames->count; ++i) {
    if (frames->items[i].type != JsonValue::kString) continue;
    if (out[0]) strcat(out, " <- ");
    strcat(out, frames->items[i].string);
  }
  return out;
}

}  // namespace ft_heap
