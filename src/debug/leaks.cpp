#include "debug/leaks.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <unwind.h>

#include <cstdint>
#include <cstring>

#include "base/line_writer.h"
#include "os/heap_lock.h"
#include "os/mapping.h"

// libgcc_s's unwinder, weak: a C program linked with -lft_malloc would otherwise load libgcc_s at
// start-up for a debug mode it rarely turns on (25 pages touched, most of the 42 page-reclaim
// scale's test2). A C++ program has it anyway; a C program gets glibc's backtrace() (prepare()).
extern "C" {
_Unwind_Reason_Code _Unwind_Backtrace(_Unwind_Trace_Fn, void *) __attribute__((weak));
_Unwind_Ptr _Unwind_GetIP(struct _Unwind_Context *) __attribute__((weak));
}

namespace ft::leaks {
namespace {

constexpr unsigned kFrames = 6;  // enough to name the caller's caller's caller
constexpr size_t kInitialCapacity = 4096;

struct Record {
  uintptr_t block;  // 0: empty slot
  size_t size;
  uintptr_t frames[kFrames];
};

// Guarded by the heap lock.
constinit Record *g_table = nullptr;
constinit size_t g_capacity = 0;
constinit size_t g_count = 0;

// The unwinder may allocate on its first use: that nested call is simply not recorded.
__thread bool t_unwinding __attribute__((tls_model("initial-exec"))) = false;

size_t home(uintptr_t p, size_t cap) { return static_cast<size_t>((p >> 4) * 0x9e3779b97f4a7c15ull >> 20) & (cap - 1); }

bool grow() {
  size_t cap = g_capacity ? g_capacity * 2 : kInitialCapacity;
  auto *t = static_cast<Record *>(os::map(cap * sizeof(Record)));
  if (!t) return false;
  for (size_t i = 0; i < g_capacity; ++i) {
    if (!g_table[i].block) continue;
    size_t j = home(g_table[i].block, cap);
    while (t[j].block) j = (j + 1) & (cap - 1);
    t[j] = g_table[i];
  }
  if (g_table) os::unmap(g_table, g_capacity * sizeof(Record));
  g_table = t;
  g_capacity = cap;
  return true;
}

Record *find(uintptr_t p) {
  if (!g_count) return nullptr;
  for (size_t i = home(p, g_capacity);; i = (i + 1) & (g_capacity - 1)) {
    if (g_table[i].block == p) return &g_table[i];
    if (!g_table[i].block) return nullptr;
  }
}

struct Unwind {
  uintptr_t frames[kFrames + 16];
  unsigned n;
};

_Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg) {
  auto *u = static_cast<Unwind *>(arg);
  if (u->n == sizeof u->frames / sizeof u->frames[0]) return _URC_END_OF_STACK;
  u->frames[u->n++] = _Unwind_GetIP(ctx);
  return _URC_NO_REASON;
}

}  // namespace

void prepare() {
  if (&_Unwind_Backtrace && &_Unwind_GetIP) return;
  // glibc's backtrace() loads libgcc_s on its first call, with malloc: once here, at start-up
  // (its blocks are not recorded), never again inside a malloc.
  void *frames[2];
  t_unwinding = true;
  backtrace(frames, 2);
  t_unwinding = false;
}

void record(void *p, size_t n, void *caller) {
  if (t_unwinding) return;
  Record r{reinterpret_cast<uintptr_t>(p), n, {}};
  Unwind u;
  u.n = 0;
  t_unwinding = true;
  if (&_Unwind_Backtrace && &_Unwind_GetIP) {
    _Unwind_Backtrace(collect, &u);
  } else {
    void *frames[sizeof u.frames / sizeof u.frames[0]];
    int depth = backtrace(frames, static_cast<int>(sizeof frames / sizeof frames[0]));
    for (int i = 0; i < depth; ++i) u.frames[u.n++] = reinterpret_cast<uintptr_t>(frames[i]);
  }
  t_unwinding = false;
  // Drop the allocator's own frames: keep from the caller of the entry point on.
  unsigned from = u.n;
  for (unsigned i = 0; i < u.n; ++i)
    if (u.frames[i] == reinterpret_cast<uintptr_t>(caller)) {
      from = i;
      break;
    }
  if (from == u.n) {
    r.frames[0] = reinterpret_cast<uintptr_t>(caller);
  } else {
    for (unsigned k = 0; k < kFrames && from + k < u.n; ++k) r.frames[k] = u.frames[from + k];
  }
  HeapLock lock;
  if (Record *old = find(r.block)) {
    *old = r;
    return;
  }
  if ((g_count + 1) * 2 > g_capacity && !grow()) return;
  size_t i = home(r.block, g_capacity);
  while (g_table[i].block) i = (i + 1) & (g_capacity - 1);
  g_table[i] = r;
  ++g_count;
}

void forget(void *p) {
  HeapLock lock;
  Record *slot = find(reinterpret_cast<uintptr_t>(p));
  if (!slot) return;
  size_t hole = static_cast<size_t>(slot - g_table);
  for (size_t i = (hole + 1) & (g_capacity - 1); g_table[i].block; i = (i + 1) & (g_capacity - 1)) {
    size_t h = home(g_table[i].block, g_capacity);
    bool stays = hole <= i ? (hole < h && h <= i) : (hole < h || h <= i);
    if (stays) continue;
    g_table[hole] = g_table[i];
    hole = i;
  }
  g_table[hole] = Record{};
  --g_count;
}

namespace {

struct Site {
  const uintptr_t *frames;
  size_t bytes;
  size_t blocks;
};

bool same_site(const Record &a, const Record &b) { return !memcmp(a.frames, b.frames, sizeof a.frames); }

bool site_before(const Record &a, const Record &b) { return memcmp(a.frames, b.frames, sizeof a.frames) < 0; }

template <typename T, typename Less>
void heap_sort(T *a, size_t n, Less less) {
  auto sift = [&](size_t root, size_t end) {
    for (size_t child; (child = 2 * root + 1) < end; root = child) {
      if (child + 1 < end && less(a[child], a[child + 1])) ++child;
      if (!less(a[root], a[child])) return;
      T t = a[root];
      a[root] = a[child];
      a[child] = t;
    }
  };
  for (size_t i = n / 2; i-- > 0;) sift(i, n);
  for (size_t end = n; end-- > 1;) {
    T t = a[0];
    a[0] = a[end];
    a[end] = t;
    sift(0, end);
  }
}

void grouped(LineWriter &out, uint64_t v) {
  char digits[32];
  int n = 0;
  do {
    if (n % 4 == 3) digits[n++] = ',';
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) out.ch(digits[--n]);
}

void frame_name(LineWriter &out, uintptr_t ip) {
  Dl_info info;
  // ip is a return address: look up the call instruction, one byte before it.
  if (dladdr(reinterpret_cast<void *>(ip - 1), &info) && info.dli_fname) {
    const char *module = info.dli_fname;
    if (info.dli_sname) {
      out.str(info.dli_sname).str("+").hex(ip - reinterpret_cast<uintptr_t>(info.dli_saddr), false);
    } else {
      out.hex(ip - reinterpret_cast<uintptr_t>(info.dli_fbase), false);
    }
    out.str(" (").str(*module ? module : "?").ch(')');
  } else {
    out.hex(ip, false);
  }
}

}  // namespace

size_t report(int fd) {
  LineWriter out(fd);
  size_t bytes = 0, blocks = 0, sites = 0;
  size_t n;
  Record *copy = nullptr;
  Site *groups = nullptr;
  {
    // Copy under the lock, name frames after it: dladdr takes the loader's lock, and a thread
    // holding that one may be waiting for ours.
    HeapLock lock;
    n = g_count;
    copy = n ? static_cast<Record *>(os::map(os::round_to_pages(n * sizeof(Record)))) : nullptr;
    groups = n ? static_cast<Site *>(os::map(os::round_to_pages(n * sizeof(Site)))) : nullptr;
    if (n && (!copy || !groups)) n = 0;
    size_t k = 0;
    for (size_t i = 0; n && i < g_capacity; ++i)
      if (g_table[i].block) copy[k++] = g_table[i];
  }
  heap_sort(copy, n, site_before);
  for (size_t i = 0; i < n; ++i) {
    if (!sites || !same_site(copy[i], copy[i - 1])) groups[sites++] = Site{copy[i].frames, 0, 0};
    groups[sites - 1].bytes += copy[i].size;
    groups[sites - 1].blocks++;
    bytes += copy[i].size;
    blocks++;
  }
  heap_sort(groups, sites, [](const Site &a, const Site &b) { return a.bytes > b.bytes; });
  for (size_t g = 0; g < sites; ++g) {
    grouped(out, groups[g].bytes);
    out.str(groups[g].bytes == 1 ? " byte in " : " bytes in ").dec(groups[g].blocks);
    out.str(groups[g].blocks == 1 ? " block allocated at " : " blocks allocated at ");
    for (unsigned f = 0; f < kFrames && groups[g].frames[f]; ++f) {
      if (f) out.str(" <- ");
      frame_name(out, groups[g].frames[f]);
    }
    out.ch('\n');
  }
  out.str("ft_malloc: leaks: ");
  grouped(out, bytes);
  out.str(" bytes in ").dec(blocks).str(" blocks from ").dec(sites).str(" call sites\n");
  if (copy) os::unmap(copy, os::round_to_pages(n * sizeof(Record)));
  if (groups) os::unmap(groups, os::round_to_pages(n * sizeof(Site)));
  return bytes;
}

}  // namespace ft::leaks
