// Reading a call log: its header checked against the one definition of the format
// (debug/call_log_format.h), its blocks walked into one array of calls sorted by time, and the
// logs of the run's other processes found next to it.
#include "tools/ft_heap/call_log_reader.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "tools/ft_heap/off_heap.h"

namespace ft_heap {

using ft::call_log::kMagic;
using ft::call_log::kOpThread;
using ft::call_log::kTimeMask;
using ft::call_log::kVersion;
using RawRecord = ft::call_log::Record;

namespace {

bool by_time(const Call &a, const Call &b) {
  return a.time != b.time ? a.time < b.time : a.index < b.index;
}

}  // namespace

bool read_header(const char *path, Header *h, bool quiet) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (!quiet) fprintf(stderr, "ft_heap: %s: %s\n", path, strerror(errno));
    return false;
  }
  ssize_t n = pread(fd, h, sizeof *h, 0);
  close(fd);
  if (n >= static_cast<ssize_t>(sizeof kMagic) && n < static_cast<ssize_t>(sizeof *h) && !memcmp(h->magic, kMagic, 8)) {
    if (!quiet) fprintf(stderr, "ft_heap: %s: truncated call log (%zd bytes, shorter than its header)\n", path, n);
    return false;
  }
  if (n != static_cast<ssize_t>(sizeof *h) || memcmp(h->magic, kMagic, 8) != 0) {
    if (!quiet) fprintf(stderr, "ft_heap: %s: not an ft_malloc call log%s\n", path, n ? "" : " (empty file)");
    return false;
  }
  if (h->version != kVersion || h->record_size != sizeof(RawRecord) || h->block_size < 2 * sizeof(RawRecord) ||
      h->block_size % sizeof(RawRecord) || h->header_size < sizeof(Header)) {
    if (!quiet) fprintf(stderr, "ft_heap: %s: call log version %u not supported\n", path, h->version);
    return false;
  }
  return true;
}

bool load_log(const char *path, Log *log) {
  memset(log, 0, sizeof *log);
  if (!read_header(path, &log->header, false)) return false;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    fprintf(stderr, "ft_heap: %s: %s\n", path, strerror(errno));
    return false;
  }
  size_t size = static_cast<size_t>(st.st_size);
  const Header &h = log->header;
  if (size < h.header_size || (size - h.header_size) % h.block_size) {
    fprintf(stderr, "ft_heap: %s: truncated call log (%zu bytes: not a %u-byte header and whole %u-byte blocks)\n",
            path, size, h.header_size, h.block_size);
    close(fd);
    return false;
  }
  if (size == h.header_size) {
    close(fd);
    return true;
  }
  auto *map = static_cast<const char *>(mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0));
  close(fd);
  if (map == MAP_FAILED) {
    fprintf(stderr, "ft_heap: %s: mmap: %s\n", path, strerror(errno));
    return false;
  }
  size_t per_block = h.block_size / sizeof(RawRecord);
  size_t blocks = (size - h.header_size) / h.block_size;
  // First pass: count, so that one array holds them all.
  constexpr uint64_t kMappedOp = static_cast<uint64_t>(ft::call_log::Op::kMapped);
  size_t count = 0, mapped = 0;
  for (size_t k = 0; k < blocks; ++k) {
    auto *r = reinterpret_cast<const RawRecord *>(map + h.header_size + k * h.block_size);
    if (r[0].time_op >> 56 != kOpThread) continue;
    for (size_t i = 1; i < per_block; ++i) {
      uint64_t op = r[i].time_op >> 56;
      if (op == kMappedOp) ++mapped;
      else if (op) ++count;
    }
  }
  log->calls = map_array<Call>(count);
  log->mapped = map_array<Mapped>(mapped);
  uint8_t *seen = nullptr;
  size_t n = 0;
  for (size_t k = 0; k < blocks; ++k) {
    auto *r = reinterpret_cast<const RawRecord *>(map + h.header_size + k * h.block_size);
    if (r[0].time_op >> 56 != kOpThread) continue;
    uint32_t id = static_cast<uint32_t>(r[0].a);
    if (id >= log->max_id) {
      uint32_t old = log->max_id;
      log->max_id = id + 1;
      seen = static_cast<uint8_t *>(realloc(seen, log->max_id));
      memset(seen + old, 0, log->max_id - old);
    }
    for (size_t i = 1; i < per_block; ++i) {
      uint64_t op = r[i].time_op >> 56;
      if (!op) continue;
      if (op == kMappedOp) {
        log->mapped[log->mapped_count++] = Mapped{r[i].time_op & kTimeMask, r[i].a, r[i].b};
        continue;
      }
      if (!seen[id]) seen[id] = 1, log->threads++;
      log->calls[n++] = Call{r[i].time_op & kTimeMask, r[i].a, r[i].b, r[i].result,
                             (k * per_block + i), id, static_cast<uint8_t>(op)};
    }
  }
  free(seen);
  munmap(const_cast<char *>(map), size);
  log->count = n;
  std::sort(log->calls, log->calls + n, by_time);  // in place: introsort allocates nothing
  std::sort(log->mapped, log->mapped + log->mapped_count,
            [](const Mapped &a, const Mapped &b) { return a.time < b.time; });
  return true;
}

void unload_log(Log *log) {
  unmap(log->calls);
  unmap(log->mapped);
  log->calls = nullptr;
  log->mapped = nullptr;
  log->count = log->mapped_count = 0;
}

size_t find_related_logs(const char *path, const Header &root, RelatedLog **out) {
  *out = nullptr;
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : path;
  if (slash) *slash = 0;
  DIR *d = opendir(slash ? (*dir ? dir : "/") : ".");
  if (!d) return 0;
  // Every FILE.<digits and dots> that is a call log started no earlier than the root.
  struct Candidate {
    RelatedLog log;
    bool listed;
  };
  Candidate *others = nullptr;
  size_t count = 0, blen = strlen(base);
  while (struct dirent *e = readdir(d)) {
    if (strncmp(e->d_name, base, blen) != 0 || e->d_name[blen] != '.') continue;
    const char *rest = e->d_name + blen + 1;
    if (!*rest || strspn(rest, "0123456789.") != strlen(rest)) continue;
    others = static_cast<Candidate *>(realloc(others, (count + 1) * sizeof *others));
    Candidate &o = others[count];
    snprintf(o.log.name, sizeof o.log.name, "%s/%s", slash ? (*dir ? dir : "") : ".", e->d_name);
    o.listed = false;
    if (read_header(o.log.name, &o.log.h, true) && o.log.h.start_realtime_ns >= root.start_realtime_ns) ++count;
  }
  closedir(d);
  // Those whose pid or parent is a process of the run; pids of the run so far, grows as logs are
  // found.
  RelatedLog *related = static_cast<RelatedLog *>(malloc((count + 1) * sizeof *related));
  size_t nrelated = 0;
  uint64_t *pids = static_cast<uint64_t *>(malloc((count + 1) * sizeof *pids));
  size_t npids = 0;
  pids[npids++] = root.pid;
  for (bool more = true; more;) {
    more = false;
    for (size_t k = 0; k < count; ++k) {
      Candidate &o = others[k];
      if (o.listed) continue;
      const Header &h = o.log.h;
      bool found = false;
      for (size_t j = 0; j < npids && !found; ++j) {
        if (h.pid == pids[j]) {
          o.log.how = Relation::kExec;
          o.log.of_pid = h.pid;
          found = true;
        } else if (h.ppid == pids[j]) {
          o.log.how = h.flags & kFlagForkChild ? Relation::kForkChild : Relation::kStartedBy;
          o.log.of_pid = h.ppid;
          found = true;
        }
      }
      if (!found) continue;
      o.listed = more = true;
      pids[npids++] = h.pid;
      related[nrelated++] = o.log;
    }
  }
  free(pids);
  free(others);
  *out = related;
  return nrelated;
}

}  // namespace ft_heap
