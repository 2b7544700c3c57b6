#include "tools/ft_heap/json_reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace ft_heap {
namespace {

struct Parser {
  const char *p, *end;
  const char *error;  // the first problem, or nullptr
  size_t line;

  void fail(const char *what) {
    if (!error) error = what;
  }
  void space() {
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) {
      if (*p == '\n') ++line;
      ++p;
    }
  }
  bool eat(char c) {
    space();
    if (p < end && *p == c) return ++p, true;
    return false;
  }
};

bool parse(Parser &ps, JsonValue *v, int depth);

// A string's text, escapes resolved (\uXXXX below 0x80 kept, others as '?': names are ASCII).
char *parse_string(Parser &ps) {
  if (!ps.eat('"')) return ps.fail("a string expected"), nullptr;
  const char *start = ps.p;
  while (ps.p < ps.end && *ps.p != '"') ps.p += *ps.p == '\\' ? 2 : 1;
  if (ps.p >= ps.end) return ps.fail("a string is not closed"), nullptr;
  char *out = static_cast<char *>(malloc(static_cast<size_t>(ps.p - start) + 1));
  size_t n = 0;
  for (const char *q = start; q < ps.p; ++q) {
    if (*q != '\\') {
      out[n++] = *q;
      continue;
    }
    char e = *++q;
    if (e == 'n') out[n++] = '\n';
    else if (e == 't') out[n++] = '\t';
    else if (e == 'r') out[n++] = '\r';
    else if (e == 'b') out[n++] = '\b';
    else if (e == 'f') out[n++] = '\f';
    else if (e == 'u' && q + 4 < ps.p) {
      char hex[5] = {q[1], q[2], q[3], q[4], 0};
      long c = strtol(hex, nullptr, 16);
      out[n++] = c > 0 && c < 0x80 ? static_cast<char>(c) : '?';
      q += 4;
    } else {
      out[n++] = e;
    }
  }
  out[n] = 0;
  ++ps.p;
  return out;
}

bool parse_members(Parser &ps, JsonValue *v, char close, int depth) {
  size_t cap = 0;
  if (ps.eat(close)) return true;
  do {
    if (v->count == cap) {
      cap = cap ? cap * 2 : 8;
      v->items = static_cast<JsonValue *>(realloc(v->items, cap * sizeof *v->items));
      if (close == '}') v->keys = static_cast<const char **>(realloc(v->keys, cap * sizeof *v->keys));
    }
    if (close == '}') {
      ps.space();
      const char *k = parse_string(ps);
      if (!k || !ps.eat(':')) return ps.fail("an object member expected"), false;
      v->keys[v->count] = k;
    }
    if (!parse(ps, &v->items[v->count], depth + 1)) return false;
    v->count++;
  } while (ps.eat(','));
  if (!ps.eat(close)) return ps.fail(close == '}' ? "',' or '}' expected" : "',' or ']' expected"), false;
  return true;
}

bool parse(Parser &ps, JsonValue *v, int depth) {
  memset(v, 0, sizeof *v);
  if (depth > 64) return ps.fail("nested too deep"), false;
  ps.space();
  if (ps.p >= ps.end) return ps.fail("the text ends too early"), false;
  char c = *ps.p;
  if (c == '{' || c == '[') {
    ++ps.p;
    v->type = c == '{' ? JsonValue::kObject : JsonValue::kArray;
    return parse_members(ps, v, c == '{' ? '}' : ']', depth);
  }
  if (c == '"') {
    v->type = JsonValue::kString;
    return (v->string = parse_string(ps)) != nullptr;
  }
  static const char *const kWords[] = {"true", "false", "null"};
  for (const char *word : kWords) {
    size_t len = strlen(word);
    if (static_cast<size_t>(ps.end - ps.p) >= len && !memcmp(ps.p, word, len)) {
      ps.p += len;
      v->type = word[0] == 'n' ? JsonValue::kNull : JsonValue::kBool;
      v->boolean = word[0] == 't';
      return true;
    }
  }
  if (c == '-' || (c >= '0' && c <= '9')) {
    const char *start = ps.p;
    while (ps.p < ps.end && strchr("+-.eE0123456789", *ps.p)) ++ps.p;
    char *digits = strndup(start, static_cast<size_t>(ps.p - start));
    v->type = JsonValue::kNumber;
    v->string = digits;
    v->number = digits[0] != '-' && !strpbrk(digits, ".eE") ? strtoull(digits, nullptr, 10) : 0;
    return true;
  }
  return ps.fail("a value expected"), false;
}

}  // namespace

const JsonValue *JsonValue::get(const char *key) const {
  if (type != kObject) return nullptr;
  for (size_t i = 0; i < count; ++i)
    if (!strcmp(keys[i], key)) return &items[i];
  return nullptr;
}

uint64_t JsonValue::num(const char *key, uint64_t fallback) const {
  const JsonValue *v = get(key);
  return v && v->type == kNumber ? v->number : fallback;
}

const char *JsonValue::str(const char *key, const char *fallback) const {
  const JsonValue *v = get(key);
  return v && v->type == kString ? v->string : fallback;
}

const JsonValue *read_json_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "ft_heap: %s: %s\n", path, strerror(errno));
    return nullptr;
  }
  size_t cap = 1 << 16, len = 0;
  char *text = static_cast<char *>(malloc(cap));
  size_t got;
  while ((got = fread(text + len, 1, cap - len, f)) > 0) {
    len += got;
    if (len == cap) text = static_cast<char *>(realloc(text, cap *= 2));
  }
  fclose(f);
  Parser ps{text, text + len, nullptr, 1};
  auto *root = static_cast<JsonValue *>(malloc(sizeof(JsonValue)));
  if (!len) ps.fail("empty file");
  else if (parse(ps, root, 0)) {
    ps.space();
    if (ps.p != ps.end) ps.fail("text after the value");
  }
  if (ps.error) {
    fprintf(stderr, "ft_heap: %s: not JSON (line %zu: %s)\n", path, ps.line, ps.error);
    return nullptr;
  }
  return root;
}

}  // namespace ft_heap
