#include "debug/frame_names.h"

#include <dlfcn.h>

#include "base/line_writer.h"

namespace ft::frames {
namespace {

// ip is a return address: look up the call instruction, one byte before it.
bool look_up(uintptr_t ip, Dl_info *info) {
  return dladdr(reinterpret_cast<void *>(ip - 1), info) && info->dli_fname;
}

}  // namespace

void write(LineWriter &out, uintptr_t ip, Style style) {
  Dl_info info;
  if (!look_up(ip, &info)) {
    out.hex(ip, false);
    return;
  }
  if (info.dli_sname) {
    out.str(info.dli_sname);
    if (style == Style::kFunction) return;
    out.str("+").hex(ip - reinterpret_cast<uintptr_t>(info.dli_saddr), false);
  } else {
    out.hex(ip - reinterpret_cast<uintptr_t>(info.dli_fbase), false);
  }
  out.str(" (").str(*info.dli_fname ? info.dli_fname : "?").ch(')');
}

uintptr_t function_key(uintptr_t ip) {
  Dl_info info;
  if (look_up(ip, &info) && info.dli_sname) return reinterpret_cast<uintptr_t>(info.dli_saddr);
  return ip;
}

}  // namespace ft::frames
