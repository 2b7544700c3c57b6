#include "base/line_writer.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace ft {

LineWriter &LineWriter::ch(char c) {
  if (muted_) return *this;
  if (len_ == kCapacity) flush();
  buf_[len_++] = c;
  return *this;
}

LineWriter &LineWriter::str(const char *s) {
  while (*s) ch(*s++);
  return *this;
}

LineWriter &LineWriter::hex(uintptr_t v, bool upper) {
  const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  char tmp[16];
  int n = 0;
  do {
    tmp[n++] = digits[v & 0xF];
    v >>= 4;
  } while (v);
  ch('0').ch('x');
  while (n) ch(tmp[--n]);
  return *this;
}

LineWriter &LineWriter::byte(uint8_t v) {
  const char *digits = "0123456789ABCDEF";
  return ch(digits[v >> 4]).ch(digits[v & 0xF]);
}

LineWriter &LineWriter::dec(uint64_t v) {
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) ch(tmp[--n]);
  return *this;
}

void LineWriter::flush() {
  if (sink_) {
    if (len_ && !muted_) sink_(buf_, len_, ctx_);
    len_ = 0;
    return;
  }
  size_t off = 0;
  int saved = errno;  // free() and friends never change errno, even when they report
  while (off < len_ && !muted_) {
    // Not write(2), a cancellation point: a thread with a cancellation request pending went away
    // inside free() at its misuse report, the report unwritten and the abort never made
    // (bad_input/*/double_free_cancel_pending). syscall(2) is none, as glibc's own malloc
    // writes its messages with a write that is none (BZ #22830: malloc_stats).
    ssize_t w = syscall(SYS_write, fd_, buf_ + off, len_ - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  errno = saved;
  len_ = 0;
}

}  // namespace ft
