#include "heap.h"

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "config.h"
#include "debug.h"
#include "fork_rescue.h"
#include "large.h"
#include "leaks.h"
#include "lock.h"
#include "os.h"
#include "registry.h"
#include "thread_cache.h"
#include "trace.h"
#include "valgrind_hooks.h"
#include "zone_heap.h"

namespace ft {
namespace {

// Larger requests fail: pointer differences within a block must fit ptrdiff_t (glibc's rule).
constexpr size_t kMaxRequest = PTRDIFF_MAX;

void *fail(int e) {
  errno = e;
  return nullptr;
}

bool is_pow2(size_t a) { return a && !(a & (a - 1)); }

// What a pointer handed back by the program is. Resolved under the heap lock.
struct Ref {
  Zone *zone = nullptr;
  uint32_t index = 0;
  LargeBlock *large = nullptr;
  FaultInfo fault;

  size_t size() const { return zone ? zone->size(index) : large->size; }
  size_t real_usable() const { return zone ? zone->usable(index) : large->usable(); }
  // What the program may use: with canaries, exactly what it asked for.
  size_t usable() const { return g_config.check ? size() : real_usable(); }
  Kind kind() const { return zone ? kind_of_class(zone->class_index) : Kind::kLarge; }
};

// Never reads memory that is not ours: the registry and the LARGE table answer first.
Ref resolve(const void *ptr) {
  Ref r;
  uintptr_t p = reinterpret_cast<uintptr_t>(ptr);
  if (Zone *z = registry::lookup(ptr)) {
    r.fault.kind = kind_of_class(z->class_index);
    r.fault.block = z->base();
    if (!z->magic_ok()) {
      r.fault.fault = Fault::kCorruptZone;
      return r;
    }
    uint32_t i;
    bool exact;
    r.fault.block_size = z->layout().chunk_size;
    if (!z->locate(p, &i, &exact)) {
      r.fault.fault = p < z->data() ? Fault::kZoneHeader : Fault::kNotOurs;
      return r;
    }
    r.fault.block = reinterpret_cast<uintptr_t>(z->chunk(i));
    if (!exact) r.fault.fault = Fault::kInterior;
    else if (!z->is_live(i)) r.fault.fault = i < z->hwm ? Fault::kDoubleFree : Fault::kNeverAllocated;
    r.zone = z;
    r.index = i;
    return r;
  }
  r.fault.kind = Kind::kLarge;
  if ((r.large = large::find(p))) return r;
  size_t freed_size;
  if (large::was_freed(p, &freed_size)) {
    r.fault = FaultInfo{Fault::kDoubleFree, Kind::kLarge, p, freed_size, 0};
  } else if (const LargeBlock *b = large::containing(p)) {
    r.fault = FaultInfo{Fault::kInterior, Kind::kLarge, b->user, b->size, 0};
  } else {
    r.fault.fault = Fault::kNotOurs;
  }
  return r;
}

// A TINY or SMALL block: from this thread's cache when the class is cached, else from the zones.
void *zone_alloc(unsigned c, size_t n, bool zero) {
  if (c < kCachedClasses) {
    if (ThreadCache *tc = tcache::current()) {
      void *p = cache_take(tc, c, n, zero);
      return p ? p : fail(ENOMEM);
    }
  }
  return zone_heap::allocate(c, n, zero);
}

// free() on a thread whose cache is not attached yet (heap_free's inline path needs one).
bool free_to_cache(void *p) {
  ThreadCache *tc = tcache::current();
  return tc && cache_free(tc, p);
}

// Every allocation ends here: a chunk of the first class that holds n bytes (and the debug
// modes' padding) at the alignment asked, or a LARGE mapping.
// at_least: a chunk of at least that many bytes even if n needs fewer (realloc's growth room).
void *allocate(size_t n, size_t align, bool zero, void *caller, size_t at_least = 0) {
  if (n > kMaxRequest || align > kMaxRequest) return fail(ENOMEM);
  if (rescue::on()) return rescue::allocate(n, align, zero);
  size_t need = debug::padded(n);
  void *p = nullptr;
  size_t room = n;  // the bytes of the chunk from p on, for valgrind
  if (need <= kSmallMax && align <= kMaxChunkAlign) {
    unsigned c = class_of(need > at_least ? need : at_least);
    // Chunks fall on their size's lowest set bit: 4096 B chunks and above always on a page.
    while (kLayouts[c].chunk_align < align) ++c;
    p = zone_alloc(c, n, zero);
    room = kLayouts[c].chunk_size;
  } else {
    p = large::allocate(n, need, align);  // fresh pages: zero already
  }
  if (p && g_config.debug()) {
    debug::on_alloc(p, n, zero);
    if (g_config.leaks) leaks::record(p, n, caller);
    if (g_config.valgrind) vg::on_alloc(p, n, room, zero);
  }
  return p;
}

// The usable size of a block of the heap a rescue child inherited, read without the lock and
// without writing anything (fork_rescue.h): 0 when p is no block of it.
size_t inherited_usable(const void *p) {
  if (Zone *z = registry::lookup(p)) {
    uint32_t i;
    bool exact;
    if (!z->magic_ok() || !z->locate(reinterpret_cast<uintptr_t>(p), &i, &exact) || !exact) return 0;
    return z->usable(i);
  }
  const LargeBlock *b = large::find(reinterpret_cast<uintptr_t>(p));
  return b ? b->usable() : 0;
}

// realloc in a rescue child: a new rescue block, the old one's bytes copied.
void *rescue_realloc(void *p, size_t n) {
  if (!p) return rescue::allocate(n, kMinAlign, false);
  if (!n) {
    rescue::release(p);
    return nullptr;
  }
  size_t old = rescue::usable_size(p);
  if (!old) old = inherited_usable(p);
  void *q = rescue::allocate(n, kMinAlign, false);
  if (!q) return nullptr;
  memcpy(q, p, old < n ? old : n);
  rescue::release(p);
  return q;
}

// The canary after a block, under FT_MALLOC_CHECK. Reports an overwritten one; the caller goes on
// (warn mode) since the heap's own metadata is out of band and intact.
void check_canary(Call call, void *p, const Ref &r) {
  if (!g_config.check || debug::canary_ok(p, r.size())) return;
  report_fault(call, p, FaultInfo{Fault::kOverflow, r.kind(), reinterpret_cast<uintptr_t>(p), r.size(), 0});
}

}  // namespace

// Logs one call for FT_MALLOC_TRACE; only the entry-level functions below log, never their helpers.
template <typename T>
T *traced(trace::Op op, uint64_t a, uint64_t b, T *result) {
  if (g_config.trace) trace::record(op, a, b, reinterpret_cast<uint64_t>(result));
  return result;
}

void *heap_malloc_slow(size_t n, void *caller) {
  return traced(trace::Op::kMalloc, n, 0, allocate(n, kMinAlign, false, caller));
}

void *heap_calloc(size_t count, size_t size, void *caller) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) return traced(trace::Op::kCalloc, count, size, fail(ENOMEM));
  return traced(trace::Op::kCalloc, count, size, allocate(n, kMinAlign, true, caller));
}

void heap_free_slow(void *p, Call call, size_t size, size_t align) {
  if (g_config.trace && call != Call::kRealloc) trace::record(trace::Op::kFree, reinterpret_cast<uint64_t>(p), 0, 0);
  if (!p) return;
  if (rescue::on()) return rescue::release(p);
  if (size == kUnchecked && free_to_cache(p)) return;
  int saved_errno = errno;
  Zone *unmap_zone = nullptr;
  LargeBlock gone{};
  {
    HeapLock lock;
    Ref r = resolve(p);
    if (r.fault.fault == Fault::kNone && size != kUnchecked &&
        (size < r.size() || size > r.usable() ||
         (align != kUnchecked && reinterpret_cast<uintptr_t>(p) % (align ? align : 1)))) {
      r.fault = FaultInfo{Fault::kSizeMismatch, r.zone ? kind_of_class(r.zone->class_index) : Kind::kLarge,
                          reinterpret_cast<uintptr_t>(p), r.size(), size};
    }
    if (r.fault.fault != Fault::kNone) {
      lock.unlock();
      report_fault(call, p, r.fault);
      return;
    }
    check_canary(call, p, r);
    if (r.zone) {
      debug::on_free(p, r.real_usable());
      unmap_zone = zone_heap::free_chunk(r.zone, r.index);
      vg::on_free(p);
    } else {
      vg::on_free(p);
      gone = *r.large;
      large::remember_freed(gone);
      large::erase(r.large);
    }
  }
  // System calls after the lock is dropped.
  if (unmap_zone) {
    unsigned c = unmap_zone->class_index;
    os::unmap(unmap_zone, kLayouts[c].zone_size);
    // The heap is shrinking: this thread's cached chunks of the class may pin other zones.
    if (c < kCachedClasses && t_cache) tcache::flush_class(t_cache, c);
  }
  if (gone.user) os::unmap(reinterpret_cast<void *>(gone.base), gone.map_len);
  if (g_config.leaks) leaks::forget(p);
  errno = saved_errno;
}

namespace {

void *reallocate(void *p, size_t n, void *caller) {
  if (rescue::on()) return rescue_realloc(p, n);
  if (!p) return allocate(n, kMinAlign, false, caller);
  if (!n) {
    heap_free_slow(p, Call::kRealloc);  // glibc: realloc(p, 0) frees p and returns NULL
    return nullptr;
  }
  if (n > kMaxRequest) return fail(ENOMEM);
  size_t old_usable;
  bool shrinking;
  size_t at_least = 0;  // growth room for a TINY or SMALL block that moves
  size_t need = debug::padded(n);
  {
    HeapLock lock;
    Ref r = resolve(p);
    if (r.fault.fault != Fault::kNone) {
      lock.unlock();
      report_fault(Call::kRealloc, p, r.fault);
      return fail(EINVAL);
    }
    check_canary(Call::kRealloc, p, r);
    // Under valgrind the bytes past the size asked are no-access: copy only those asked.
    old_usable = g_config.valgrind ? r.size() : r.usable();
    if (r.zone) {
      size_t chunk = r.zone->chunk_size;
      shrinking = need <= chunk;
      if (!shrinking && need <= kSmallMax) at_least = grown_room(need, chunk);
      if (shrinking && !shrink_moves(chunk, n)) {
        size_t old_size = r.size();
        vg::open(p, chunk);
        r.zone->set_size(r.index, n);
        if (g_config.valgrind) vg::on_resize(p, old_size, n, chunk);
        if (g_config.check) debug::write_canary(p, n);
        return p;
      }
    } else {
      LargeBlock *b = r.large;
      // Under FT_MALLOC_GUARD the block must keep ending at its guard page: it always moves.
      shrinking = need <= b->usable() && !g_config.guard;
      if (shrinking) {
        // In place; whole pages past the new end go back to the system.
        size_t keep = os::round_to_pages(b->user - b->base + need);
        size_t drop = b->map_len > keep ? b->map_len - keep : 0;
        if (g_config.valgrind) vg::on_resize(p, b->size, n, n);
        b->size = n;
        if (g_config.check) debug::write_canary(p, n);
        if (drop) large::resize(b, keep);
        uintptr_t tail = b->base + keep;
        lock.unlock();
        if (drop) os::unmap(reinterpret_cast<void *>(tail), drop);
        return p;
      }
      if (b->user == b->base && n > kSmallMax && !g_config.guard) {
        // Grow by moving page tables, not bytes.
        LargeBlock old = *b;
        size_t len = os::round_to_pages(need);
        large::erase(b);
        lock.unlock();
        void *q = os::remap(reinterpret_cast<void *>(old.base), old.map_len, len);
        lock.relock();
        uintptr_t a = reinterpret_cast<uintptr_t>(q);
        // Cannot fail: the table holds one entry fewer than before the erase.
        large::insert(q ? LargeBlock{a, a, len, n, a + len} : old);
        if (q && g_config.check) debug::write_canary(q, n);
        if (q && g_config.valgrind) {  // moved (or grown) by the kernel: a new block for memcheck
          vg::on_free(p);
          vg::on_alloc(q, n, n, false);
          vg::open(q, old.size < n ? old.size : n);
        }
        return q ? q : fail(ENOMEM);
      }
    }
  }
  void *q = allocate(n, kMinAlign, false, caller, at_least);
  if (!q) {
    if (!shrinking) return nullptr;
    // Could not move to a smaller chunk: keep the block where it is.
    HeapLock lock;
    Ref r = resolve(p);
    if (r.zone && r.fault.fault == Fault::kNone) {
      r.zone->set_size(r.index, n);
      if (g_config.check) debug::write_canary(p, n);
    }
    return p;
  }
  memcpy(q, p, old_usable < n ? old_usable : n);
  heap_free_slow(p, Call::kRealloc);
  return q;
}

}  // namespace

void *heap_realloc_slow(void *p, size_t n, void *caller) {
  void *q = reallocate(p, n, caller);
  // A block resized in place keeps its record, with the new size.
  if (q == p && q && g_config.leaks) leaks::record(q, n, caller);
  return traced(trace::Op::kRealloc, reinterpret_cast<uint64_t>(p), n, q);
}

void *heap_reallocarray(void *p, size_t count, size_t size, void *caller) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) return fail(ENOMEM);
  return heap_realloc_slow(p, n, caller);
}

void *heap_memalign(size_t align, size_t n, void *caller) {
  // glibc's bound: above 2^63 no power of two is left to round up to.
  if (align > SIZE_MAX / 2 + 1) return traced(trace::Op::kMemalign, align, n, fail(EINVAL));
  if (align <= kMinAlign) align = kMinAlign;  // 0 included, as glibc: malloc's alignment
  else if (!is_pow2(align)) align = size_t{1} << (64 - __builtin_clzll(align));  // glibc rounds up
  return traced(trace::Op::kMemalign, align, n, allocate(n, align, false, caller));
}

int heap_posix_memalign(void **out, size_t align, size_t n, void *caller) {
  if (!is_pow2(align) || align % sizeof(void *)) return EINVAL;
  int saved_errno = errno;
  void *p = traced(trace::Op::kMemalign, align, n, allocate(n, align, false, caller));
  if (!p) return ENOMEM;  // errno is ENOMEM too, as glibc leaves it (its tests read it)
  errno = saved_errno;
  *out = p;
  return 0;
}

void *heap_aligned_alloc(size_t align, size_t n, void *caller) {
  if (!is_pow2(align)) return fail(EINVAL);  // glibc 2.38 and C23
  return traced(trace::Op::kMemalign, align, n, allocate(n, align, false, caller));
}

void *heap_valloc(size_t n, void *caller) {
  ensure_init();
  return traced(trace::Op::kMemalign, os::page_size(), n, allocate(n, os::page_size(), false, caller));
}

void *heap_pvalloc(size_t n, void *caller) {
  ensure_init();
  size_t page = os::page_size();
  size_t rounded;
  if (__builtin_add_overflow(n, page - 1, &rounded)) return fail(ENOMEM);
  rounded &= ~(page - 1);
  return traced(trace::Op::kMemalign, page, rounded ? rounded : page, allocate(rounded ? rounded : page, page, false, caller));
}

size_t heap_usable_size(void *p) {
  if (!p) return 0;
  if (rescue::on()) {
    size_t n = rescue::usable_size(p);
    return n ? n : inherited_usable(p);
  }
  HeapLock lock;
  Ref r = resolve(p);
  if (r.fault.fault == Fault::kNone) return r.usable();
  lock.unlock();
  report_fault(Call::kUsableSize, p, r.fault);
  return 0;
}

}  // namespace ft
