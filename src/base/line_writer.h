// Text output without stdio and without allocating: a stack buffer flushed with write(2).
// Used by the dumps (stdout) and the error reports (stderr), which run when the heap may be
// broken or the lock held.
#pragma once
#include <cstddef>
#include <cstdint>

namespace ft {

class LineWriter {
 public:
  // Where full buffers go instead of a file descriptor (malloc_info's FILE, through fwrite).
  using Sink = void (*)(const char *bytes, size_t n, void *ctx);

  explicit LineWriter(int fd) : fd_(fd) {}
  LineWriter(Sink sink, void *ctx) : fd_(-1), sink_(sink), ctx_(ctx) {}
  ~LineWriter() { flush(); }
  LineWriter(const LineWriter &) = delete;
  LineWriter &operator=(const LineWriter &) = delete;

  LineWriter &str(const char *s);
  LineWriter &ch(char c);
  // 0x then upper-case digits (show_alloc_mem) or lower-case ones (error reports, like %p).
  LineWriter &hex(uintptr_t v, bool upper = true);
  // Two hex digits, upper case, no prefix (hex dumps).
  LineWriter &byte(uint8_t v);
  LineWriter &dec(uint64_t v);
  void flush();
  // Everything written so far is dropped instead of written (FT_MALLOC_ERRORS=ignore).
  void mute() { muted_ = true; len_ = 0; }

 private:
  static constexpr size_t kCapacity = 4096;  // one page of output per write(2)
  char buf_[kCapacity];
  size_t len_ = 0;
  int fd_;
  Sink sink_ = nullptr;
  void *ctx_ = nullptr;
  bool muted_ = false;
};

}  // namespace ft
