#include "tools/ft_heap/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

namespace ft_heap {

void report_unwritable(const char *path, int err) {
  fprintf(stderr, "ft_heap: %s: cannot write it: %s\n", path, strerror(err));
}

bool open_output(const char *path, Output *out) {
  out->f = nullptr;
  out->path = path;
  size_t n = strlen(path) + 32;
  out->tmp = static_cast<char *>(malloc(n));
  snprintf(out->tmp, n, "%s.tmp.%d", path, static_cast<int>(getpid()));
  int fd = open(out->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    report_unwritable(path, errno);
    free(out->tmp);
    out->tmp = nullptr;
    return false;
  }
  out->f = fdopen(fd, "w");
  return true;
}

bool commit_output(Output *out) {
  bool ok = !ferror(out->f);
  int err = ok ? 0 : EIO;
  if (fclose(out->f) != 0 && ok) ok = false, err = errno;
  out->f = nullptr;
  if (ok && rename(out->tmp, out->path) != 0) ok = false, err = errno;
  if (!ok) {
    report_unwritable(out->path, err);
    unlink(out->tmp);
  }
  free(out->tmp);
  out->tmp = nullptr;
  return ok;
}

void discard_output(Output *out) {
  if (out->f) fclose(out->f);
  out->f = nullptr;
  if (out->tmp) unlink(out->tmp);
  free(out->tmp);
  out->tmp = nullptr;
}

}  // namespace ft_heap
