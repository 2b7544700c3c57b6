#include "heap/realloc.h"
#include "base/compiler.h"

#include "base/valgrind_hooks.h"
#include "debug/debug_modes.h"
#include "debug/leaks.h"
#include "heap/allocate.h"
#include "heap/fork_rescue.h"
#include "heap/resolve.h"
#include "heap/trim.h"
#include "large/large_block.h"
#include "os/heap_lock.h"
#include "tcache/thread_cache.h"
#include "zone/registry.h"

namespace ft {
namespace {

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

// Whether this thread may change the size code of block p of zone z in place: a 16 B block's
// nibble shares a byte with its neighbour's, which only the zone's writer changes (its owner, or
// the lock's holder for the pool's zones); a byte or a word is its holder's.
FT_HOT_TEXT bool may_write_size(const Zone *z, const void *p) {
  if (code_format(z->class_index) != CodeFormat::kNibble) return true;
  uint32_t owner = registry::entry_owner(registry::lookup_entry(p));
  ThreadCache *tc = own_cache();
  return !owner || (tc && owner == tc->owner_id);
}

// The pages of p's chunk that can become the LARGE block it grows into (moved with mremap, not
// copied), or 0. A copy into a new mapping writes every page of it (a 128 KiB chunk: 32 pages
// asked for in one call, then 128 KiB copied), where glibc grows such a block in place at its
// heap's top. Whole pages only: chunks from 32 KiB on (kPrefaultMinCopy, where a copy starts to
// cost more than the system call) start on a page.
FT_HOT_TEXT size_t pages_to_move(const void *p, size_t chunk) {
  size_t page_mask = os::page_size() - 1;
  bool whole_pages = !(chunk & page_mask) && !(reinterpret_cast<uintptr_t>(p) & page_mask);
  return chunk >= kPrefaultMinCopy && whole_pages ? chunk : 0;
}

// *remapped: the block was grown by the kernel (mremap), perhaps to another address, without going
// through allocate() and free: the leak tracker's record must follow it. *refused: the kernel
// refused to grow it (the block is as it was), and `may_copy` did not allow a copy instead.
FT_HOT_TEXT void *reallocate(void *p, size_t n, void *caller, bool may_copy, bool *remapped, bool *refused) {
  if (rescue::on()) return rescue_realloc(p, n);
  if (!p) return allocate(n, kMinAlign, false, caller);
  if (!n) {
    // glibc: realloc(p, 0) frees p and returns NULL
    if (!tcache::free_unlocked(p)) heap_free_slow(p, Call::kRealloc);
    return nullptr;
  }
  if (n > kMaxRequest) return fail(ENOMEM);
  size_t old_usable;
  bool shrinking;
  size_t at_least = 0;  // growth room for a TINY or SMALL block that moves
  // A TINY or SMALL block that grows into a LARGE one (not under a debug mode: valgrind follows
  // copies, FT_MALLOC_CHECK's canary lies in the chunk past the block), and its whole pages that
  // can become the LARGE block's.
  bool grows_large = false;
  size_t move_len = 0;
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
      grows_large = need > kSmallMax && !g_config.debug();
      if (grows_large) move_len = pages_to_move(p, chunk);
      if (shrinking && !shrink_moves(chunk, n) && may_write_size(r.zone, p)) {
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
      if (shrinking) {  // in place: a block that shrinks gives whole pages past its new end back
        if (g_config.valgrind) vg::on_resize(p, b->size, n, n);
        large::Unmap tail = large::resize_in_place(b, n, need);
        if (g_config.check) debug::write_canary(p, n);
        lock.unlock();
        tail.run();
        return p;
      }
      // Grown by moving page tables, not bytes. When the kernel refuses (for want of memory, or a
      // mapping it would have to grow across areas: a gathered one whose parts were undercounted),
      // the caller tries once more after a trim, and then the block, as it was, is copied, as
      // glibc does when mremap fails.
      size_t old_size;
      if (n > kSmallMax && large::can_regrow(*b)) {
        void *q = large::regrow(b, n, need, lock, &old_size);
        if (q) {
          *remapped = true;
          if (g_config.check) debug::write_canary(q, n);
          if (g_config.valgrind) {  // moved (or grown) by the kernel: a new block for memcheck
            vg::on_free(p);
            vg::on_alloc(q, n, n, false);
            vg::open(q, old_size < n ? old_size : n);
          }
          return q;
        }
        *refused = !may_copy;
        if (!may_copy) return fail(ENOMEM);
      }
    }
  }
  bool moved = false;
  void *q = grows_large ? large::allocate_grown(n, need, p, move_len, &moved)
                        : allocate(n, kMinAlign, false, caller, at_least);
  if (!q) {
    if (!shrinking) return nullptr;
    // Could not move to a smaller chunk: keep the block where it is.
    HeapLock lock;
    Ref r = resolve(p);
    if (r.zone && r.fault.fault == Fault::kNone && may_write_size(r.zone, p)) {
      r.zone->set_size(r.index, n);
      if (g_config.check) debug::write_canary(p, n);
    }
    return p;
  }
  if (!moved) copy_to_moved(q, p, old_usable < n ? old_usable : n);
  if (!tcache::free_unlocked(p)) heap_free_slow(p, Call::kRealloc);
  return q;
}

}  // namespace

FT_HOT_TEXT void *heap_realloc_slow(void *p, size_t n, void *caller) {
  bool remapped = false, refused = false;
  void *q = reallocate(p, n, caller, false, &remapped, &refused);
  // mremap refused: once more after what is kept for reuse went back, then by copy.
  if (refused) {
    trim_for_retry();
    q = reallocate(p, n, caller, true, &remapped, &refused);
  }
  // A block resized in place keeps its record, with the new size; one the kernel moved gets a new
  // one (a block moved by allocate() and free was recorded and forgotten there).
  if (q && g_config.stacks && (q == p || remapped)) {
    if (q != p) leaks::forget(p);
    leaks::record(q, n, caller);
  }
  return traced(call_log::Op::kRealloc, reinterpret_cast<uint64_t>(p), n, q);
}

FT_HOT_TEXT void *heap_reallocarray(void *p, size_t count, size_t size, void *caller) {
  size_t n;
  if (__builtin_mul_overflow(count, size, &n)) return fail(ENOMEM);
  return heap_realloc_slow(p, n, caller);
}

}  // namespace ft
