/*
 * Component test of the zone registry (src/zone/registry.h): address -> zone, O(1), never
 * reading memory that is not ours. The registry only stores and compares zone pointers, so the
 * zones here are made-up, granule-aligned addresses nobody maps: a lookup that touched them
 * would fault. Built against build/ft_malloc_internal.o (test/component/component.mk).
 */
#include "common.h"

#include "zone/registry.h"
#include "zone/zone.h"

using ft::Zone;
namespace registry = ft::registry;

namespace {

constexpr uintptr_t kGranule = ft::kZoneGranule;
// Far above anything the kernel hands this process (and below 2^47): addresses of our own.
constexpr uintptr_t kBase = uintptr_t{0x5e5e} << 32;

Zone *fake(uintptr_t a) { return reinterpret_cast<Zone *>(a); }
const void *at(uintptr_t a) { return reinterpret_cast<const void *>(a); }

}  // namespace

/* Every address of a zone's granules finds it; the granules on either side find nothing. */
TEST(insert_lookup_erase)
{
    uintptr_t z = kBase + 10 * kGranule;
    size_t len = 3 * kGranule;
    CHECK(registry::insert(fake(z), len, 0), "insert failed");
    for (uintptr_t a = z; a < z + len; a += 4093)
        CHECK(registry::lookup(at(a)) == fake(z), "lookup(%#lx) inside the zone missed it", (unsigned long)a);
    CHECK(registry::lookup(at(z + len - 1)) == fake(z), "the zone's last byte missed");
    CHECK(registry::lookup(at(z - 1)) == nullptr, "the byte below the zone found something");
    CHECK(registry::lookup(at(z + len)) == nullptr, "the byte after the zone found something");
    registry::erase(fake(z), len);
    for (uintptr_t a = z; a < z + len; a += kGranule / 2)
        CHECK(registry::lookup(at(a)) == nullptr, "lookup(%#lx) after erase still finds the zone", (unsigned long)a);
}

/* A zone that straddles two leaves (each leaf covers 4 GiB of address space). */
TEST(zone_across_two_leaves)
{
    uintptr_t leaf_span = uintptr_t{1} << (registry::kGranuleBits + registry::kLeafBits);
    uintptr_t z = kBase + 7 * leaf_span - 2 * kGranule;
    size_t len = 5 * kGranule;
    CHECK(registry::insert(fake(z), len, 7), "insert failed");
    CHECK(registry::lookup(at(z)) == fake(z), "first granule (first leaf) missed");
    CHECK(registry::lookup(at(z + 2 * kGranule)) == fake(z), "third granule (second leaf) missed");
    CHECK(registry::lookup(at(z + len - 8)) == fake(z), "last granule missed");
    registry::erase(fake(z), len);
    CHECK(registry::lookup(at(z + 3 * kGranule)) == nullptr, "erase left the second leaf's part");
}

/* Neighbouring zones keep apart; erasing one leaves the other whole. */
TEST(neighbours_stay_apart)
{
    uintptr_t a = kBase + 100 * kGranule, b = a + 2 * kGranule;
    CHECK(registry::insert(fake(a), 2 * kGranule, 3) && registry::insert(fake(b), 4 * kGranule, 4), "insert failed");
    CHECK(registry::lookup(at(b - 1)) == fake(a), "a's last byte resolves to %p", (void *)registry::lookup(at(b - 1)));
    CHECK(registry::lookup(at(b)) == fake(b), "b's first byte");
    registry::erase(fake(a), 2 * kGranule);
    CHECK(registry::lookup(at(a)) == nullptr && registry::lookup(at(b + kGranule)) == fake(b), "erase of a touched b");
    registry::erase(fake(b), 4 * kGranule);
}

/* An entry carries the zone, its class and its owner apart: setting the owner keeps the class,
 * and neither leaks into the zone's address. */
TEST(entry_class_and_owner)
{
    uintptr_t z = kBase + 300 * kGranule;
    const unsigned last = ft::kClassCount - 1;
    CHECK(registry::insert(fake(z), 2 * kGranule, last), "insert failed");
    uintptr_t e = registry::lookup_entry(at(z + kGranule + 5));
    CHECK(registry::entry_zone(e) == fake(z) && registry::entry_class(e) == last && registry::entry_owner(e) == 0,
          "entry %#lx: zone, class %u, owner %u", (unsigned long)e, registry::entry_class(e), registry::entry_owner(e));
    registry::set_owner(fake(z), 2 * kGranule, 0xfffe);
    e = registry::lookup_entry(at(z));
    CHECK(registry::entry_zone(e) == fake(z) && registry::entry_class(e) == last && registry::entry_owner(e) == 0xfffe,
          "after set_owner, entry %#lx: class %u, owner %u", (unsigned long)e, registry::entry_class(e),
          registry::entry_owner(e));
    registry::set_owner(fake(z), 2 * kGranule, 0);
    CHECK(registry::entry_class(registry::lookup_entry(at(z))) == last, "the owner's reset lost the class");
    registry::erase(fake(z), 2 * kGranule);
    CHECK(registry::lookup_entry(at(z)) == 0, "erase left the entry");
}

/* Addresses the registry cannot hold, and never-registered ones, resolve to nothing without
 * faulting: the pointer is never dereferenced. */
TEST(wild_addresses)
{
    const uintptr_t wild[] = {0, 0x10, 0xdead0000, ~uintptr_t{0}, uintptr_t{1} << 48, (uintptr_t{1} << 48) + 4096,
                              uintptr_t{1} << 63, kBase + 12345 * kGranule};
    for (uintptr_t a : wild)
        CHECK(registry::lookup(at(a)) == nullptr, "lookup(%#lx) found a zone", (unsigned long)a);
    CHECK(!registry::insert(fake((uintptr_t{1} << 48) - kGranule), 2 * kGranule, 0),
          "a zone reaching past 2^48 was accepted");
}

/* The real heap's zones are in the registry: a block's zone is found from the block. */
TEST(real_zone_found_from_its_blocks)
{
    void *p = malloc(24);
    CHECK(p, "malloc");
    Zone *z = registry::lookup(p);
    CHECK(z && z->magic_ok(), "the zone of a malloc(24) block is not registered");
    CHECK(reinterpret_cast<uintptr_t>(p) >= z->data() && reinterpret_cast<uintptr_t>(p) < z->base() + z->layout().zone_size,
          "the registered zone does not hold the block");
    free(p);
}

static const test_case cases[] = {
    CASE(insert_lookup_erase),
    CASE(zone_across_two_leaves),
    CASE(neighbours_stay_apart),
    CASE(entry_class_and_owner),
    CASE(wild_addresses),
    CASE(real_zone_found_from_its_blocks),
};

RUN_CASES(cases)
