// A small JSON reader for the heap tools' inputs (the JSON snapshots of FT_MALLOC_JSON): the whole
// text into a tree of values. Numbers keep their digits: 64-bit counts do not fit a double.
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace ft_heap {

struct JsonValue {
  enum Type : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject } type;
  bool boolean;
  uint64_t number;      // kNumber: the value when it is a whole number >= 0, else 0
  const char *string;   // kString: the text (unescaped); kNumber: its digits
  JsonValue *items;     // kArray, kObject: the members
  const char **keys;    // kObject: the members' names
  size_t count;

  // An object's member by name, or nullptr.
  const JsonValue *get(const char *key) const;
  // The number or string member's value, or `fallback`.
  uint64_t num(const char *key, uint64_t fallback = 0) const;
  const char *str(const char *key, const char *fallback = "") const;
};

// Reads PATH. nullptr (and one line on stderr naming PATH and what is wrong) when it cannot be
// read or is not JSON. The tree lives until the program ends.
const JsonValue *read_json_file(const char *path);

}  // namespace ft_heap
