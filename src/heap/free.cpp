#include "heap/free.h"

#include "base/valgrind_hooks.h"
#include "debug/debug_modes.h"
#include "debug/leaks.h"
#include "heap/allocate.h"
#include "heap/fork_rescue.h"
#include "heap/resolve.h"
#include "large/large_block.h"
#include "os/heap_lock.h"
#include "os/mapping.h"
#include "zone/zone_pool.h"

namespace ft {
namespace {

// free() on a thread whose cache is not attached yet (heap_free_fast needs one).
bool free_to_cache(void *p) {
  ThreadCache *tc = tcache::current();
  return tc && cache_free(tc, p);
}

}  // namespace

void heap_free_slow(void *p, Call call, size_t size, size_t align) {
  if (g_config.trace && call != Call::kRealloc) call_log::record(call_log::Op::kFree, reinterpret_cast<uint64_t>(p), 0, 0);
  if (!p) return;
  if (rescue::on()) return rescue::release(p);
  if (size == kUnchecked && free_to_cache(p)) return;
  int saved_errno = errno;
  Zone *unmap_zone = nullptr;
  large::Unmap gone{0, 0};
  {
    HeapLock lock;
    Ref r = resolve(p);
    if (r.fault.fault == Fault::kNone && size != kUnchecked &&
        (size < r.size() || size > r.usable() ||
         (align != kUnchecked && reinterpret_cast<uintptr_t>(p) % (align ? align : 1)))) {
      r.fault = FaultInfo{Fault::kSizeMismatch, r.kind(), reinterpret_cast<uintptr_t>(p), r.size(), size};
    }
    if (r.fault.fault != Fault::kNone) {
      lock.unlock();
      report_fault(call, p, r.fault);
      return;
    }
    check_canary(call, p, r);
    if (r.zone) {
      debug::on_free(p, r.real_usable());
      unmap_zone = zone_pool::free_chunk(r.zone, r.index);
      vg::on_free(p);
    } else {
      vg::on_free(p);
      gone = large::release(r.large);
    }
  }
  // System calls after the lock is dropped.
  if (unmap_zone) {
    unsigned c = unmap_zone->class_index;
    os::unmap(unmap_zone, kLayouts[c].zone_size);
    // The heap is shrinking: this thread's cached chunks of the class may pin other zones.
    if (c < kCachedClasses && t_cache) tcache::flush_class(t_cache, c);
  }
  gone.run();
  if (g_config.leaks) leaks::forget(p);
  errno = saved_errno;
}

}  // namespace ft
