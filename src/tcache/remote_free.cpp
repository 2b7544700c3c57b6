#include "tcache/remote_free.h"
#include "base/compiler.h"

#include "base/counters.h"
#include "tcache/thread_cache.h"

namespace ft::remote {

FT_HOT_TEXT void announce(ThreadCache *owner, Zone *z, uint32_t pw) {
  Notices &n = owner->notices;
  uintptr_t entry = reinterpret_cast<uintptr_t>(z) | pw;
  uint64_t t = __atomic_load_n(&n.tail, __ATOMIC_RELAXED);
  for (;;) {
    // A slot is ours to write only when the owner has taken what was there: t - head < size.
    if (t - __atomic_load_n(&n.head, __ATOMIC_ACQUIRE) >= kNoticeSlots) {
      __atomic_store_n(&n.lost, 1, __ATOMIC_RELEASE);
      return;
    }
    if (__atomic_compare_exchange_n(&n.tail, &t, t + 1, true, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) break;
  }
  __atomic_store_n(&owner->notice_slots.slot[t % kNoticeSlots], entry, __ATOMIC_RELEASE);
}

FT_CORE_TEXT bool drain(ThreadCache *owner, void (*fn)(Zone *z, uint32_t pw, void *ctx), void *ctx) {
  Notices &n = owner->notices;
  uint64_t h = n.head, t = __atomic_load_n(&n.tail, __ATOMIC_ACQUIRE);
  for (; h != t; ++h) {
    uintptr_t *slot = &owner->notice_slots.slot[h % kNoticeSlots];
    uintptr_t e = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!e) break;  // claimed, not written yet: taken at the next drain
    __atomic_store_n(slot, uintptr_t{0}, __ATOMIC_RELAXED);
    fn(reinterpret_cast<Zone *>(e & ~kEntryWordMask), static_cast<uint32_t>(e & kEntryWordMask), ctx);
  }
  __atomic_store_n(&n.head, h, __ATOMIC_RELEASE);
  return __atomic_load_n(&n.lost, __ATOMIC_RELAXED) && __atomic_exchange_n(&n.lost, 0, __ATOMIC_ACQ_REL);
}

FT_HOT_TEXT bool free_chunk(Zone *z, uint32_t i, uint32_t owner_id, ThreadCache *self) {
  uint32_t pw;
  switch (z->remote_free(i, &pw)) {
    case Zone::RemoteFree::kNotLive:
    case Zone::RemoteFree::kAlreadyPending:
      return false;
    case Zone::RemoteFree::kDoneAnnounce:
      if (ThreadCache *owner = cache_with_id(owner_id)) announce(owner, z, pw);
      break;
    case Zone::RemoteFree::kDone:
      break;
  }
  if (self) ++self->remote_frees;
  else counters::note_uncached_remote_free(reinterpret_cast<uintptr_t>(&t_fast));
  return true;
}

}  // namespace ft::remote
