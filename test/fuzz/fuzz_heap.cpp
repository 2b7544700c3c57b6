// libFuzzer harness for ft_malloc: runs a sequence of allocator operations decoded from the input
// and checks every result against a shadow model of the harness's own blocks.
//
// Build (from the repository root; `make fuzz-build` does this):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer test/fuzz/fuzz_heap.cpp test/fuzz/fuzz_pattern.cpp \
//           test/fuzz/fuzz_dump.cpp -Iinc -L. -lft_malloc -o test/fuzz/build/fuzz_heap
// The other files: fuzz_heap.h says what each holds.
// The archive defines malloc, so every allocation of the process (libFuzzer's, libc's) goes
// through ft_malloc; LLVMFuzzerInitialize checks that with show_alloc_mem.
//
// ---- Input encoding -------------------------------------------------------------------------
// The input is a sequence of 4-byte records (a trailing partial record is ignored):
//
//   byte 0: op = b & 15, mod = b >> 4 (0..15, refines the op)
//   byte 1: slot = b % 64 (the harness keeps at most 64 live blocks, one per slot)
//   byte 2, 3: v = b2 | b3 << 8, decoded into a size n by decode_size():
//     v >> 14 == 0: kBoundary[v % count]: 0, 1, every class size -1/0/+1, the TINY size-code
//                   edges (chunk - 14, chunk - 15), page and 64 KiB edges, LARGE sizes to 2 MiB + 1
//     v >> 14 == 1: v & 0x3FFF                       (0 .. 16383: TINY and low SMALL, every byte)
//     v >> 14 == 2: (v & 0x3FFF) * 8 + (v & 0x3FFF) % 7        (0 .. 131070: all of SMALL)
//     v >> 14 == 3: 131072 + (v & 0x3FFF)^3 / 2^22 + (v & 0x3FFF) % 7  (LARGE to 1.1 MiB,
//                   most of them small: a LARGE block costs a mapping and its page faults;
//                   the boundary table has the larger ones, to 2 MiB + 1)
//   alignment from mod (align_of): mod 0..12 -> 16 << mod (16 .. 65536); 13 -> 0; 14 -> 48
//   (not a power of two); 15 -> 8.
//
//   op  name            what it does (an allocation into a live slot first frees the old block)
//    0  MALLOC          malloc(n)
//    1  CALLOC          calloc(mod, n / mod) (mod 0: calloc(0, n)); checks the bytes are zero
//    2  REALLOC         mod < 12: realloc(p, n); else reallocarray(p, mod - 11, n / (mod - 11));
//                       p may be NULL (empty slot); n == 0 frees. Keeps min(old, new) bytes.
//    3  MEMALIGN        memalign(align_of(mod), n)
//    4  ALIGNED_ALLOC   aligned_alloc(align_of(mod), n): EINVAL unless a power of two
//    5  POSIX_MEMALIGN  posix_memalign(&p, align_of(mod), n): EINVAL unless a power of two >= 8
//    6  FREE            mod < 12: free; 12, 13: free_sized(p, size); 14: free_aligned_sized;
//                       15: cfree. Checks the pattern first and that errno is kept.
//    7  WRITE           refills the block with a new pattern
//    8  CHECK           verifies the block's pattern (mod 0: every live block's)
//    9  USABLE          malloc_usable_size(p) == the value recorded at allocation
//   10  DUMP            show_alloc_mem() (mod odd: show_alloc_mem_ex()) into a memfd, parsed
//   11  VALLOC          mod even: valloc(n); odd: pvalloc(n)
//   12  HEAP_CHECK      ft_malloc_check() == 0
//   13  ERRORS          an invalid request chosen by mod (sizes over PTRDIFF_MAX, overflowing
//                       calloc/reallocarray, bad alignments, free(NULL)): NULL/errno as glibc, and
//                       a block passed to a failing realloc stays intact
//   14  MALLOC_EDGE     malloc(kBoundary[v % count]) (the boundary sizes, whatever v's mode)
//   15  FREE            free(p)
//
// ---- Checks ---------------------------------------------------------------------------------
// After every op: live blocks [p, p + usable) pairwise disjoint and distinct; every pointer
// aligned to 16 (or the alignment asked); usable >= size asked. Each block is filled over its whole
// usable size (over 64 KiB: its first and last 16 KiB and around every 64 KiB boundary) with a
// pattern derived from its slot and a generation counter, verified before free and realloc, on
// CHECK and at the end of the input; realloc keeps min(old, new) bytes; calloc zeroes. DUMP:
// every line well formed (upper-case hex), blocks in increasing address order and disjoint, the
// total equal to the sum; every live block of the harness listed exactly as
// `0xSTART - 0xEND : SIZE bytes` (SIZE asked, END = START + SIZE; _ex: also its first bytes), and
// no block freed by the harness since the input started (and not handed out again) listed.
// ft_malloc_check() every 16 ops and at the end of each input. Any mismatch: a message on stderr,
// then abort().
// The debug modes: with FT_MALLOC_CHECK, SCRIBBLE or GUARD in the environment, start-up checks
// that the mode is in effect (a canary block's usable size is its size; a new block reads 0xAA; a
// LARGE block ends against its guard page); under SCRIBBLE every new block must read 0xAA.
//
// FUZZ_HEAP_TRACE=1 in the environment prints every op on stderr (to read a reproducer).
#include "fuzz_heap.h"

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace fuzz_heap {

constexpr unsigned kHeapCheckEvery = 16;

enum Op : unsigned {
  kMalloc, kCalloc, kRealloc, kMemalign, kAlignedAlloc, kPosixMemalign, kFree, kWrite,
  kCheck, kUsable, kDump, kValloc, kHeapCheck, kErrors, kMallocEdge, kFree2
};

Slot g_slot[kSlots];
uint64_t g_generation;
unsigned g_op_index;  // for messages
bool g_trace;
size_t g_page;
// FT_MALLOC_SCRIBBLE=1: a new block (but calloc's and the tail realloc adds) reads 0xAA.
bool g_scribble;
constexpr unsigned char kScribbleNew = 0xAA;

uintptr_t g_freed[kFreedMax];
unsigned g_freed_count;

// Clang treats the allocation functions as touching no memory of the program (LLVM's
// inaccessiblememonly): it would keep errno in a register across malloc and elide a malloc/free
// pair. errno is read and written through volatile accesses, and the sizes and pointers of the
// calls whose result is only tested go through opaque().
int get_errno() { return *static_cast<volatile int *>(&errno); }
void set_errno(int e) { *static_cast<volatile int *>(&errno) = e; }
template <class T>
T opaque(T v) {
  asm volatile("" : "+r"(v));
  return v;
}

[[noreturn]] __attribute__((format(printf, 1, 2))) void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fuzz_heap: op #%u: ", g_op_index);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

void trace(const char *fmt, ...) {
  if (!g_trace) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "#%u ", g_op_index);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

// ---- Sizes and alignments ------------------------------------------------------------------

constexpr size_t kTinyMax = 256, kSmallMax = 131072;
size_t g_boundary[512];
unsigned g_boundary_count;

void add_boundary(size_t n) {
  if (g_boundary_count < sizeof g_boundary / sizeof *g_boundary) g_boundary[g_boundary_count++] = n;
}

void init_boundaries() {
  static const size_t kLow[] = {0, 1, 2, 8, 15, 16, 17};
  for (size_t n : kLow) add_boundary(n);
  for (size_t c = 16; c <= kTinyMax; c += 16) {  // TINY classes; size codes 14 and 15 (tail)
    add_boundary(c - 1), add_boundary(c), add_boundary(c + 1);
    if (c > 16) add_boundary(c - 14), add_boundary(c - 15);
  }
  for (size_t base = kTinyMax; base < kSmallMax; base *= 2)  // SMALL: 4 classes per doubling
    for (size_t k = 1; k <= 4; ++k) {
      size_t c = base + k * (base / 4);
      add_boundary(c - 1), add_boundary(c), add_boundary(c + 1);
    }
  static const size_t kHigh[] = {4095,    4096,    4097,    8191,    8192,    8193,
                                 65535,   65536,   65537,   135167,  135168,  135169,
                                 200000,  262143,  262144,  262145,  1048575, 1048576,
                                 1048577, 2097151, 2097152, 2097153};
  for (size_t n : kHigh) add_boundary(n);
}

size_t decode_size(unsigned v) {
  unsigned low = v & 0x3FFF;
  switch (v >> 14) {
    case 0: return g_boundary[v % g_boundary_count];
    case 1: return low;
    case 2: return size_t{low} * 8 + low % 7;
    default: return kSmallMax + size_t{low} * low * low / (size_t{1} << 22) + low % 7;  // cubic: mostly small
  }
}

size_t align_of(unsigned mod) {
  if (mod <= 12) return kMinAlign << mod;
  return mod == 13 ? 0 : mod == 14 ? 48 : 8;
}

bool is_pow2(size_t a) { return a && !(a & (a - 1)); }

// The alignment a pointer from memalign(a) must have (glibc rounds other values up).
size_t memalign_effective(size_t a) {
  if (a <= kMinAlign) return kMinAlign;
  size_t r = 1;
  while (r < a) r <<= 1;
  return r;
}

// ---- Patterns (fill, first_mismatch, first_not: fuzz_pattern.cpp) -------------------------

uint64_t new_seed(unsigned slot) {
  ++g_generation;
  return (uint64_t{slot} << 56) ^ (g_generation * 0xD6E8FEB86659FD93ull) ^ 0x5A5A5A5A5A5A5A5Aull;
}

void verify(unsigned s, const char *when, size_t len) {
  const Slot &b = g_slot[s];
  size_t bad = first_mismatch(b.p, b.usable, len, b.seed);
  if (bad != len)
    fail("slot %u: block %p (size %zu, usable %zu) lost its content at offset %zu %s: byte 0x%02x, "
         "expected 0x%02x", s, static_cast<void *>(b.p), b.size, b.usable, bad, when, b.p[bad],
         pattern_byte(b.seed, bad));
}

void verify_all(const char *when) {
  for (unsigned s = 0; s < kSlots; ++s)
    if (g_slot[s].p) verify(s, when, g_slot[s].usable);
}

// ---- The shadow model ----------------------------------------------------------------------

void forget_freed(uintptr_t a) {
  for (unsigned i = 0; i < g_freed_count; ++i)
    if (g_freed[i] == a) g_freed[i] = g_freed[--g_freed_count];
}

void remember_freed(uintptr_t a) {
  forget_freed(a);
  if (g_freed_count < kFreedMax) g_freed[g_freed_count++] = a;
}

// A fresh block of `size` bytes from `what` into slot s: checks it and fills it.
void adopt(unsigned s, void *ptr, size_t size, size_t align, const char *what, bool zero) {
  auto *p = static_cast<unsigned char *>(ptr);
  if (!p) fail("%s(%zu) returned NULL (errno %d)", what, size, get_errno());
  size_t need = align < kMinAlign ? kMinAlign : align;
  if (reinterpret_cast<uintptr_t>(p) % need) fail("%s(%zu) = %p: not aligned to %zu", what, size, ptr, need);
  size_t usable = malloc_usable_size(p);
  if (usable < size) fail("%s(%zu) = %p: malloc_usable_size %zu < size", what, size, ptr, usable);
  if (zero) {
    size_t bad = first_nonzero(p, usable, size);
    if (bad != size) fail("%s(%zu) = %p: byte %zu is 0x%02x, not zero", what, size, ptr, bad, p[bad]);
  } else if (g_scribble && strcmp(what, "realloc") != 0) {
    size_t bad = first_not(p, usable, size, kScribbleNew);
    if (bad != size) fail("%s(%zu) = %p: byte %zu is 0x%02x, not 0x%02X (FT_MALLOC_SCRIBBLE)", what, size, ptr, bad, p[bad], kScribbleNew);
  }
  forget_freed(reinterpret_cast<uintptr_t>(p));
  Slot &b = g_slot[s];
  b = Slot{p, size, usable, need, new_seed(s)};
  fill(p, usable, b.seed);  // up to its last usable byte: all of it must be writable
  trace("  slot %u = %p size %zu usable %zu align %zu", s, ptr, size, usable, need);
}

void release(unsigned s, unsigned how) {
  Slot &b = g_slot[s];
  if (!b.p) return;
  verify(s, "before free", b.usable);
  set_errno(4242);
  switch (how) {
    case 12: case 13: free_sized(b.p, b.size); break;
    case 14: free_aligned_sized(b.p, b.align, b.size); break;
    case 15: cfree(b.p); break;
    default: free(b.p); break;
  }
  if (get_errno() != 4242) fail("free(%p) changed errno to %d", static_cast<void *>(b.p), get_errno());
  remember_freed(reinterpret_cast<uintptr_t>(b.p));
  b.p = nullptr;
}

// Live blocks: distinct, [p, p + usable) disjoint.
void check_disjoint() {
  const Slot *order[kSlots];
  unsigned n = 0;
  for (unsigned s = 0; s < kSlots; ++s) {
    if (!g_slot[s].p) continue;
    const Slot *b = &g_slot[s];
    unsigned i = n++;
    for (; i > 0 && order[i - 1]->p > b->p; --i) order[i] = order[i - 1];
    order[i] = b;
  }
  for (unsigned i = 1; i < n; ++i) {
    const Slot &a = *order[i - 1], &b = *order[i];
    if (a.p == b.p || a.p + a.usable > b.p)
      fail("blocks overlap: %p (size %zu, usable %zu) and %p (size %zu, usable %zu)",
           static_cast<void *>(a.p), a.size, a.usable, static_cast<void *>(b.p), b.size, b.usable);
  }
}

// ---- The operations ------------------------------------------------------------------------

void do_realloc(unsigned s, unsigned mod, size_t n) {
  Slot &b = g_slot[s];
  size_t count = mod < 12 ? 0 : mod - 11;
  size_t elem = count ? n / count : n;
  size_t asked = count ? count * elem : n;
  if (b.p) verify(s, "before realloc", b.usable);
  unsigned char *old = b.p;
  size_t keep = old ? (b.size < asked ? b.size : asked) : 0;
  uint64_t old_seed = b.seed;
  size_t old_usable = b.usable;
  void *q = count ? reallocarray(old, count, elem) : realloc(old, asked);
  trace("  %s(%p, %zu) = %p", count ? "reallocarray" : "realloc", static_cast<void *>(old), asked, q);
  if (old && asked == 0) {  // glibc: realloc(p, 0) frees p and returns NULL
    if (q) fail("realloc(%p, 0) = %p, not NULL", static_cast<void *>(old), q);
    remember_freed(reinterpret_cast<uintptr_t>(old));
    b.p = nullptr;
    return;
  }
  if (!q) fail("realloc(%p, %zu) failed (errno %d)", static_cast<void *>(old), asked, get_errno());
  auto *p = static_cast<unsigned char *>(q);
  size_t bad = first_mismatch(p, old_usable, keep, old_seed);
  if (bad != keep)
    fail("realloc(%p, %zu) = %p lost the old content at offset %zu of %zu kept", static_cast<void *>(old), asked,
         q, bad, keep);
  if (old && p != old) remember_freed(reinterpret_cast<uintptr_t>(old));
  b.p = nullptr;
  adopt(s, q, asked, kMinAlign, "realloc", false);
}

void do_errors(unsigned s, unsigned mod) {
  const size_t huge = static_cast<size_t>(PTRDIFF_MAX) + 1;
  Slot &b = g_slot[s];
  void *q;
  set_errno(0);
  switch (mod) {
    case 0: q = malloc(opaque(SIZE_MAX)); if (q || get_errno() != ENOMEM) fail("malloc(SIZE_MAX) = %p, errno %d", q, get_errno()); break;
    case 1: q = malloc(opaque(huge)); if (q || get_errno() != ENOMEM) fail("malloc(PTRDIFF_MAX + 1) = %p, errno %d", q, get_errno()); break;
    case 2: q = calloc(opaque(SIZE_MAX / 2 + 1), 2); if (q || get_errno() != ENOMEM) fail("calloc overflow = %p, errno %d", q, get_errno()); break;
    case 3: q = calloc(opaque(size_t{1} << 32), size_t{1} << 32); if (q || get_errno() != ENOMEM) fail("calloc(2^32, 2^32) = %p, errno %d", q, get_errno()); break;
    case 4:
    case 5: {
      q = mod == 4 ? realloc(b.p, opaque(SIZE_MAX - 4096)) : reallocarray(b.p, opaque(SIZE_MAX / 4), 8);
      if (q || get_errno() != ENOMEM) fail("realloc(%p, huge) = %p, errno %d", static_cast<void *>(b.p), q, get_errno());
      if (b.p) {
        verify(s, "after a failed realloc", b.usable);
        if (malloc_usable_size(b.p) != b.usable) fail("a failed realloc changed the usable size of %p", static_cast<void *>(b.p));
      }
      break;
    }
    case 6:
    case 7: {
      void *out = &b;  // a sentinel: must stay
      set_errno(4242);
      int r = mod == 6 ? posix_memalign(&out, opaque(size_t{24}), 64) : posix_memalign(&out, 64, opaque(SIZE_MAX - 100));
      int want = mod == 6 ? EINVAL : ENOMEM;
      // EINVAL is reported through the result alone; ENOMEM also through errno, as glibc does.
      int want_errno = mod == 6 ? 4242 : ENOMEM;
      if (r != want || out != &b || get_errno() != want_errno)
        fail("posix_memalign(%s) = %d (want %d), out %p, errno %d", mod == 6 ? "24, 64" : "64, huge", r, want, out, get_errno());
      break;
    }
    case 8: q = aligned_alloc(opaque(size_t{3}), 64); if (q || get_errno() != EINVAL) fail("aligned_alloc(3, 64) = %p, errno %d", q, get_errno()); break;
    case 9: q = memalign(64, opaque(SIZE_MAX - 100)); if (q || get_errno() != ENOMEM) fail("memalign(64, huge) = %p, errno %d", q, get_errno()); break;
    case 10:
      set_errno(4242);
      free(opaque(static_cast<void *>(nullptr)));
      if (get_errno() != 4242) fail("free(NULL) changed errno");
      if (malloc_usable_size(opaque(static_cast<void *>(nullptr))) != 0) fail("malloc_usable_size(NULL) != 0");
      break;
    case 11: q = pvalloc(opaque(SIZE_MAX - 10)); if (q || get_errno() != ENOMEM) fail("pvalloc(huge) = %p, errno %d", q, get_errno()); break;
    case 12: q = valloc(opaque(SIZE_MAX)); if (q || get_errno() != ENOMEM) fail("valloc(SIZE_MAX) = %p, errno %d", q, get_errno()); break;
    case 13: q = memalign(opaque(size_t{1} << 63), 16); if (q) fail("memalign(2^63, 16) = %p", q); break;
    case 14: q = aligned_alloc(size_t{1} << 20, opaque(SIZE_MAX - (size_t{1} << 19))); if (q || get_errno() != ENOMEM) fail("aligned_alloc(1 MiB, huge) = %p, errno %d", q, get_errno()); break;
    default:  // calloc(0, SIZE_MAX): no overflow, a unique pointer
      q = opaque(calloc(0, opaque(SIZE_MAX)));
      if (!q) fail("calloc(0, SIZE_MAX) = NULL");
      free(opaque(q));
      break;
  }
}

void run_op(unsigned op, unsigned mod, unsigned s, unsigned v) {
  Slot &b = g_slot[s];
  size_t n = decode_size(v);
  switch (op) {
    case kMalloc:
    case kMallocEdge: {
      if (op == kMallocEdge) n = g_boundary[v % g_boundary_count];
      trace("malloc(%zu) -> slot %u", n, s);
      release(s, 0);
      adopt(s, malloc(n), n, kMinAlign, "malloc", false);
      break;
    }
    case kCalloc: {
      size_t count = mod, elem = count ? n / count : n;
      trace("calloc(%zu, %zu) -> slot %u", count, elem, s);
      release(s, 0);
      adopt(s, calloc(count, elem), count * elem, kMinAlign, "calloc", true);
      break;
    }
    case kRealloc:
      trace("realloc slot %u (%p) to %zu (mod %u)", s, static_cast<void *>(b.p), n, mod);
      do_realloc(s, mod, n);
      break;
    case kMemalign: {
      size_t a = align_of(mod);
      trace("memalign(%zu, %zu) -> slot %u", a, n, s);
      release(s, 0);
      adopt(s, memalign(a, n), n, memalign_effective(a), "memalign", false);
      break;
    }
    case kAlignedAlloc: {
      size_t a = align_of(mod);
      trace("aligned_alloc(%zu, %zu) -> slot %u", a, n, s);
      release(s, 0);
      set_errno(0);
      void *q = aligned_alloc(a, n);
      if (!is_pow2(a)) {
        if (q || get_errno() != EINVAL) fail("aligned_alloc(%zu, %zu) = %p, errno %d: want NULL, EINVAL", a, n, q, get_errno());
        break;
      }
      adopt(s, q, n, a, "aligned_alloc", false);
      break;
    }
    case kPosixMemalign: {
      size_t a = align_of(mod);
      trace("posix_memalign(%zu, %zu) -> slot %u", a, n, s);
      release(s, 0);
      void *q = &b;  // sentinel
      set_errno(4242);
      int r = posix_memalign(&q, a, n);
      if (get_errno() != 4242) fail("posix_memalign changed errno");
      if (!is_pow2(a) || a % sizeof(void *)) {
        if (r != EINVAL || q != &b) fail("posix_memalign(%zu, %zu) = %d, out %p: want EINVAL, untouched", a, n, r, q);
        break;
      }
      if (r) fail("posix_memalign(%zu, %zu) = %d", a, n, r);
      adopt(s, q, n, a, "posix_memalign", false);
      break;
    }
    case kFree:
    case kFree2:
      trace("free slot %u (%p, %zu bytes) how %u", s, static_cast<void *>(b.p), b.size, op == kFree ? mod : 0);
      release(s, op == kFree ? mod : 0);
      break;
    case kWrite:
      trace("write slot %u", s);
      if (b.p) {
        verify(s, "before a rewrite", b.usable);
        b.seed = new_seed(s);
        fill(b.p, b.usable, b.seed);
      }
      break;
    case kCheck:
      trace("check slot %u", s);
      if (mod == 0) verify_all("on check");
      else if (b.p) verify(s, "on check", b.usable);
      break;
    case kUsable:
      if (b.p) {
        size_t u = malloc_usable_size(b.p);
        trace("usable slot %u = %zu", s, u);
        if (u != b.usable) fail("malloc_usable_size(%p) = %zu, was %zu", static_cast<void *>(b.p), u, b.usable);
      }
      break;
    case kDump:
      trace("dump%s", mod & 1 ? " ex" : "");
      check_dump(mod & 1);
      break;
    case kValloc: {
      bool pv = mod & 1;
      trace("%s(%zu) -> slot %u", pv ? "pvalloc" : "valloc", n, s);
      release(s, 0);
      // pvalloc(n) is valloc(n rounded up to a page; a page for 0): that is the size recorded.
      size_t asked = pv ? (n ? (n + g_page - 1) / g_page * g_page : g_page) : n;
      adopt(s, pv ? pvalloc(n) : valloc(n), asked, g_page, pv ? "pvalloc" : "valloc", false);
      break;
    }
    case kHeapCheck:
      trace("ft_malloc_check");
      if (int r = ft_malloc_check()) fail("ft_malloc_check() = %d", r);
      break;
    case kErrors:
      trace("errors case %u (slot %u)", mod, s);
      do_errors(s, mod);
      break;
  }
}

}  // namespace fuzz_heap

using namespace fuzz_heap;

// The allocator's debug modes, when their variable is in the environment (set as ft_malloc reads
// them: non-empty and not "0"), must be in effect: each is checked by what it does. ft_malloc
// reads its environment once, at the first allocation of the process.
bool env_flag(const char *name) {
  const char *v = getenv(name);
  return v && *v && strcmp(v, "0") != 0;
}

void check_modes() {
  static const char kWhy[] =
      "is in the environment, but ft_malloc runs without it (it read its environment at the first "
      "allocation of the process: if that came before libc set environ up, e.g. from a "
      ".preinit_array function, it saw none)";
  if (env_flag("FT_MALLOC_CHECK")) {
    void *p = opaque(malloc(opaque(size_t{100})));
    size_t u = malloc_usable_size(p);
    if (u != 100) fail("FT_MALLOC_CHECK=1 %s: malloc_usable_size(malloc(100)) = %zu, not 100", kWhy, u);
    free(p);
  }
  if (env_flag("FT_MALLOC_SCRIBBLE")) {
    auto *p = static_cast<unsigned char *>(opaque(malloc(opaque(size_t{64}))));
    for (int i = 0; i < 64; ++i)
      if (p[i] != kScribbleNew) fail("FT_MALLOC_SCRIBBLE=1 %s: a new block reads 0x%02x, not 0xAA", kWhy, p[i]);
    free(p);
    g_scribble = true;
  }
  if (env_flag("FT_MALLOC_GUARD")) {
    // A LARGE block then ends against a guard page: 200000 B does not start on a page.
    void *p = opaque(malloc(opaque(size_t{200000})));
    if (reinterpret_cast<uintptr_t>(p) % g_page == 0)
      fail("FT_MALLOC_GUARD=1 %s: malloc(200000) = %p starts on a page, not against a guard page", kWhy, p);
    free(p);
  }
}

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  g_trace = getenv("FUZZ_HEAP_TRACE") && *getenv("FUZZ_HEAP_TRACE") == '1';
  g_page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  init_boundaries();
  init_dump();
  // Is malloc ft_malloc? Its dump must list a block we just got.
  g_slot[0] = Slot{};
  adopt(0, malloc(12345), 12345, kMinAlign, "malloc", false);
  check_dump(false);
  check_dump(true);
  release(0, 0);
  g_freed_count = 0;
  check_modes();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  g_freed_count = 0;
  g_op_index = 0;
  for (size_t i = 0; i + 4 <= size; i += 4, ++g_op_index) {
    unsigned op = data[i] & 15, mod = data[i] >> 4, s = data[i + 1] % kSlots;
    unsigned v = data[i + 2] | unsigned{data[i + 3]} << 8;
    run_op(op, mod, s, v);
    check_disjoint();
    if (g_op_index % kHeapCheckEvery == kHeapCheckEvery - 1)
      if (int r = ft_malloc_check()) fail("ft_malloc_check() = %d", r);
  }
  trace("end of input: freeing every block");
  verify_all("at the end of the input");
  for (unsigned s = 0; s < kSlots; ++s) release(s, 0);
  if (int r = ft_malloc_check()) fail("ft_malloc_check() = %d at the end of the input", r);
  return 0;
}
