// Built with `g++ link_cxx.cpp -Iinc -L. -lft_malloc`: operator new/delete go through ft_malloc.
#include "common.h"

#include <algorithm>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unordered_map>
#include <vector>

struct alignas(256) Wide {
    char c[300];
};

TEST(new_is_ft_malloc)
{
    int *a = new int[10];
    for (int i = 0; i < 10; i++)
        a[i] = i;
    std::string *s = new std::string(1000, 'x');
    std::vector<long> v(5000, 3);
    Wide *w = new Wide;
    CHECK((uintptr_t)w % 256 == 0, "aligned new returned %p", (void *)w);
    memset(w->c, 1, sizeof w->c);
#if HAVE_FT
    const char *d = dump_plain();
    CHECK(dump_has_block(d, a, 10 * sizeof(int)), "new int[10] = %p (40 bytes) not in show_alloc_mem", (void *)a);
    CHECK(dump_has_start(d, s), "new std::string %p not in show_alloc_mem", (void *)s);
    CHECK(dump_has_start(d, s->data()), "std::string buffer not in show_alloc_mem");
    CHECK(dump_has_block(d, v.data(), 5000 * sizeof(long)), "vector buffer not in show_alloc_mem");
    CHECK(dump_has_start(d, w), "aligned new %p not in show_alloc_mem", (void *)w);
#endif
    void *a_addr = launder(a), *w_addr = launder(w);
    delete[] a;
    delete s;
    delete w;
#if HAVE_FT
    d = dump_plain();
    CHECK(!dump_has_start(d, a_addr), "delete[] did not free");
    CHECK(!dump_has_start(d, w_addr), "aligned delete did not free");
#endif
}

TEST(stl_workload)
{
    std::map<std::string, std::vector<int>> m;
    std::unordered_map<int, std::string> u;
    for (int i = 0; i < 50000; i++) {
        std::string k = "key" + std::to_string(i * 7919 % 10007);
        m[k].push_back(i);
        u[i] = k + std::string(static_cast<size_t>(i % 300), 'z');
    }
    long total = 0;
    for (auto &kv : m)
        for (int x : kv.second)
            total += x;
    CHECK(total == 50000L * 49999 / 2, "map sum %ld", total);
    CHECK(m.size() == 10007, "map size %zu", m.size());
    std::vector<std::string> keys;
    for (auto &kv : u)
        keys.push_back(kv.second);
    std::sort(keys.begin(), keys.end());
    CHECK(keys.size() == 50000, "keys %zu", keys.size());
    CHECK(keys.front().compare(0, 4, "key0") == 0, "first key %s", keys.front().c_str());
    std::vector<std::unique_ptr<std::vector<char>>> big;
    for (int i = 0; i < 200; i++)
        big.emplace_back(new std::vector<char>(static_cast<size_t>(i) * 3000, static_cast<char>(i)));
    for (int i = 0; i < 200; i++)
        CHECK(std::all_of(big[i]->begin(), big[i]->end(), [i](char c) { return c == static_cast<char>(i); }),
              "vector %d corrupted", i);
}

static char *volatile sink; // keeps the compiler from eliding new/delete pairs

TEST(new_failure_throws)
{
    bool thrown = false;
    try {
        sink = new char[launder_size(static_cast<size_t>(PTRDIFF_MAX) / 2)];
        sink[0] = 1;
        delete[] sink;
    } catch (const std::bad_alloc &) {
        thrown = true;
    }
    CHECK(thrown, "new of a huge array did not throw std::bad_alloc");
    sink = new (std::nothrow) char[launder_size(static_cast<size_t>(PTRDIFF_MAX) / 2)];
    CHECK(sink == nullptr, "nothrow new of a huge array returned non-null");
}

static const test_case cases[] = {
    CASE(new_is_ft_malloc),
    CASE(stl_workload),
    CASE(new_failure_throws),
};

RUN_CASES(cases)
