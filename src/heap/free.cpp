#include "heap/free.h"
#include "base/compiler.h"

#include "base/valgrind_hooks.h"
#include "debug/debug_modes.h"
#include "debug/leaks.h"
#include "heap/allocate.h"
#include "heap/fork_rescue.h"
#include "heap/resolve.h"
#include "large/large_block.h"
#include "os/heap_lock.h"
#include "os/mapping.h"
#include "tcache/thread_cache.h"
#include "zone/registry.h"
#include "zone/zone_pool.h"

namespace ft {

FT_HOT_TEXT void free_resolved(void *p, Call call, size_t size, size_t align) {
  if (g_config.trace && call != Call::kRealloc) call_log::record(call_log::Op::kFree, reinterpret_cast<uint64_t>(p), 0, 0);
  if (!p) return;
  if (rescue::on()) return rescue::release(p);
  int saved_errno = errno;
  Zone *unmap_zone = nullptr;
  large::Unmaps gone;
  uint32_t owner = 0;  // a zone a thread cache owns: its owner writes its bits, not the lock's holder
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
    if (r.zone && (owner = registry::entry_owner(registry::lookup_entry(p)))) {
      // free_sized of a block of a cached class: freed below, as free() frees it
    } else if (r.zone) {
      debug::on_free(p, r.real_usable());
      unmap_zone = zone_pool::free_chunk(r.zone, r.index);
      vg::on_free(p);
    } else {
      vg::on_free(p);
      large::release(r.large, &gone);
    }
  }
  // The size was right: the block goes as free() sends it (and if another thread freed it since
  // it was resolved, that path reports this second free).
  if (owner && !tcache::free_unlocked(p)) heap_free_slow(p, call);
  // System calls after the lock is dropped.
  if (unmap_zone) zone_pool::unmap_zone(unmap_zone);
  gone.run();
  if (g_config.stacks) leaks::forget(p);
  if (g_config.trace) call_log::record_mapping();
  errno = saved_errno;
}

}  // namespace ft
