#include "base/secret.h"
#include "base/compiler.h"

#include <sys/auxv.h>

#include <cstring>

namespace ft {

constinit uint64_t g_secret = 0x9e3779b97f4a7c15ull;

FT_CORE_TEXT void read_secret() {
  if (auto *random = reinterpret_cast<const uint64_t *>(getauxval(AT_RANDOM))) {
    uint64_t s;
    memcpy(&s, random, sizeof s);
    g_secret ^= s;
  }
  g_secret |= 1;  // never zero
}

}  // namespace ft
