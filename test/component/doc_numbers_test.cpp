/*
 * The numbers the documents state, pinned: README.md (Design's zone diagram, the size classes
 * table, the thread caches, giving memory back) and src/README.md (the glossary). Each
 * static_assert names where the number is written; a change to the allocator that moves one
 * stops this file from building (component/doc_numbers_test/* then fail with the assertion) until
 * the document says the new number. src/zone/zone.h pins the zone header's size and the TINY chunk
 * counts itself.
 */
#include "common.h"

#include "base/size_class.h"
#include "large/large_cache.h"
#include "large/large_table.h"
#include "tcache/remote_free.h"
#include "tcache/thread_cache.h"
#include "zone/registry.h"
#include "zone/zone.h"
#include "zone/zone_pool.h"

using namespace ft;

constexpr size_t kKiB = 1024, kMiB = 1024 * kKiB;

// ---- README.md, Design: the zone diagram ----
static_assert(kZoneGranule == 64 * kKiB, "zones start on a 64 KiB boundary");
static_assert(sizeof(Zone) == 128, "header 128 B");
static_assert(kLayouts[0].pending_offset - kLayouts[0].live_offset == kLayouts[0].words * 8,
              "pending bitmap: 1 bit per chunk, the live bitmap's geometry");
static_assert(kNibbleTailCode == 15 && kByteTailCode == 255 && kTailBytes == 4, "15 or 255: size in the chunk's last 4 B");

// ---- README.md, Size classes and thresholds ----
static_assert(kClassCount == 52 && kTinyClassCount == 16 && kClassCount - kTinyClassCount == 36,
              "16 TINY classes, 36 SMALL (src/README.md: 52 classes)");
static_assert(kTinyMax == 256 && class_size(1) - class_size(0) == 16, "TINY: 0 - 256 B, 16 B apart");
static_assert(kSmallMax == 128 * kKiB, "SMALL up to 128 KiB, LARGE above");
static_assert(kLayouts[0].zone_size == 64 * kKiB && kLayouts[0].chunks == 3875, "64 KiB: 3875 chunks of 16 B");
static_assert(class_size(2) == 48 && kLayouts[2].zone_size == 64 * kKiB && kLayouts[2].chunks == 1315,
              "... 1315 of 48 B");
static_assert(class_size(3) == 64 && kLayouts[3].zone_size == 128 * kKiB && kLayouts[3].chunks == 1995 &&
                  kLayouts[4].zone_size == 192 * kKiB && kLayouts[5].zone_size == 192 * kKiB &&
                  kLayouts[6].zone_size == 256 * kKiB && kLayouts[15].zone_size == 256 * kKiB &&
                  kLayouts[15].chunks == 1016,
              "64-256 B: 128 KiB (1995 chunks of 64 B), 192 KiB for 80-96 B, 256 KiB from 112 B (1016 chunks of 256 B)");
static_assert(class_size(16) == 320 && kLayouts[16].zone_size == 320 * kKiB && kLayouts[16].chunks == 1017 &&
                  kGrownZoneMax == 256 * kKiB && kBigZoneChunks == 1024 && kLayouts[19].zone_size == 512 * kKiB &&
                  kLayouts[20].zone_size == 640 * kKiB && kLayouts[20].chunks == 1020 && kMetadataPage == 4096,
              "320 KiB for 320 B (1017 chunks) to 640 KiB for 640 B (1020); for 16-640 B the most granules up to "
              "256 KiB whose first chunk stays in the first 4 KiB, then up to 1024 chunks");
static_assert(kInlineFreeClasses == 16 && kInlineFreeMaxZone == 256 * kKiB,
              "16-256 B: zones of at most 256 KiB, freed inline without a push limit");
static_assert(class_size(21) == 768 && kLayouts[21].zone_size == 768 * kKiB && kLayouts[21].chunks == 1021 &&
                  kLayouts[22].zone_size == 896 * kKiB && kLayouts[23].zone_size == kMiB &&
                  kLayouts[23].chunks == 1022 && class_size(36) == 10 * kKiB && kLayouts[36].zone_size == kMiB &&
                  kLayouts[36].chunks == 102 && kLayouts[37].zone_size == 1216 * kKiB,
              "768 KiB for 768 B (1021 chunks), 896 KiB for 896 B, 1 MiB for 1 KiB (1022) to 10 KiB (102), "
              "then the fewest granules holding 100 chunks: 1.2 MiB for 12 KiB");
static_assert(kLayouts[kClassCount - 1].zone_size * 10 / kMiB == 125, "12.6 MiB for 128 KiB (12.56)");
static_assert(kMinChunksPerZone == 100, "at least 100 chunks per zone");
static_assert(kTinyZoneSize * 10 / kLayouts[0].chunks == 169, "16.9 B resident per live 16-byte block");

// ---- README.md, Design: per-thread caches ----
static_assert(kCachedClasses == kClassCount, "every class cached");
static_assert(kCacheBytesPerClass == 16 * kKiB && kCacheSlots == 51, "at most 16 KiB of a class, 51 chunks");
static_assert(cache_capacity(0) == 51 && cache_capacity(class_of(8 * kKiB)) == 2 &&
                  cache_capacity(class_of(16 * kKiB)) == 1,
              "2 to 51 chunks, one from 16 KiB on");
static_assert(kUnpurgedBudget == 4 * kMiB, "a thread's current zones keep up to 4 MiB written pages");
// src/README.md, glossary: thread cache.
static_assert(sizeof(ClassCache) == 512, "512 B per class");
static_assert(sizeof(ThreadCache) > 30 * kKiB && sizeof(ThreadCache) <= 31 * kKiB + 512, "a 31 KiB mapping");
static_assert(remote::kNoticeSlots == 512 && sizeof(remote::NoticeSlots::slot) == 4 * kKiB, "512 notices, a 4 KiB ring");
static_assert(registry::kOwnerIdMask == 65535, "owner ids 1 to 65535, 16 bits");

// ---- README.md, Design: giving memory back; src/README.md, glossary: LARGE cache ----
static_assert(large::cache::kSlots == 32 && large::cache::kMinBytes == 32 * kMiB && large::cache::kLiveShare == 4,
              "at most 32 mappings and max(32 MiB, live LARGE bytes / 4)");
static_assert(large::cache::kIdleMs == 1000, "given back after about a second unused");
static_assert(zone_pool::kKeptBytes == 2 * kMiB, "wholly free zones kept resident: at most 2 MiB in all");

// ---- src/README.md, glossary ----
static_assert(sizeof(registry::Leaf) == 512 * kKiB && (size_t{1} << registry::kLeafBits) == 65536,
              "registry leaf: 65536 entries, 512 KiB");
static_assert((size_t{1} << (registry::kGranuleBits + registry::kLeafBits)) == 4 * kKiB * kMiB,
              "a leaf covers 4 GiB");
static_assert(sizeof(LargeBlock) == 48, "LARGE entry 48 B");

/* The assertions above are the test; this case only says that the file built. */
TEST(documented_numbers_hold)
{
    printf("the documents' numbers hold\n");
}

static const test_case cases[] = {
    CASE(documented_numbers_hold),
};

RUN_CASES(cases)
