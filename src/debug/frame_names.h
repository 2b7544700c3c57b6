// Naming a return address for the reports, with dladdr (the loader's symbol tables: the program's
// own functions need -rdynamic). One way of naming, shared by the leak report, the JSON snapshot's
// call sites and the heap profiles. Takes the loader's lock: never call it under the heap lock.
#pragma once
#include <cstdint>

namespace ft {
class LineWriter;
}

namespace ft::frames {

enum class Style : uint8_t {
  kSite,      // the call site:  main+0x17 (./walk)      0x2724a (/lib/x86_64-linux-gnu/libc.so.6)
  kFunction,  // its function:   main                    0x2724a (/lib/x86_64-linux-gnu/libc.so.6)
};

// Writes ip's name in that style.
void write(LineWriter &out, uintptr_t ip, Style style);
// What tells kFunction names apart: the function's start when it has a name, else ip itself.
uintptr_t function_key(uintptr_t ip);

}  // namespace ft::frames
