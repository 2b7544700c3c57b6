// STL-heavy translation unit for the allocator benchmark: g++ compiles it (the compiler's heap is
// what is measured, cc1plus inherits LD_PRELOAD); never linked or run.
#include <algorithm>
#include <deque>
#include <functional>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace bench {

template <typename K, typename V>
std::map<K, std::vector<V>> group(const std::vector<std::pair<K, V>> &in)
{
    std::map<K, std::vector<V>> out;
    for (const auto &[k, v] : in)
        out[k].push_back(v);
    return out;
}

template <typename T>
std::string describe(const T &c)
{
    std::ostringstream os;
    for (const auto &x : c)
        os << x << ',';
    return os.str();
}

using Value = std::variant<int, double, std::string, std::vector<int>>;

struct Visitor {
    std::string operator()(int i) const { return std::to_string(i); }
    std::string operator()(double d) const { return std::to_string(d); }
    std::string operator()(const std::string &s) const { return s; }
    std::string operator()(const std::vector<int> &v) const { return describe(v); }
};

template <int N>
struct Unroll {
    template <typename F>
    static void run(F &&f)
    {
        f(N);
        Unroll<N - 1>::run(f);
    }
};
template <>
struct Unroll<0> {
    template <typename F>
    static void run(F &&) {}
};

template <typename T>
auto pipeline(std::vector<T> v)
{
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    std::unordered_map<T, std::size_t> pos;
    for (std::size_t i = 0; i < v.size(); i++)
        pos.emplace(v[i], i);
    std::set<T> s(v.begin(), v.end());
    std::deque<T> d(s.begin(), s.end());
    std::list<T> l(d.begin(), d.end());
    return std::make_tuple(std::accumulate(v.begin(), v.end(), T{}), pos.size(), l.size());
}

} // namespace bench

#define INSTANTIATE(T)                                                                            \
    template auto bench::pipeline<T>(std::vector<T>);                                             \
    template std::map<T, std::vector<std::string>> bench::group(                                  \
        const std::vector<std::pair<T, std::string>> &);

INSTANTIATE(int)

int main()
{
    std::vector<bench::Value> vals{1, 2.5, std::string("x"), std::vector<int>{1, 2, 3}};
    std::string all;
    for (auto &v : vals)
        all += std::visit(bench::Visitor{}, v);
    std::map<std::string, std::function<int(int)>> ops{{"inc", [](int x) { return x + 1; }},
                                                       {"dbl", [](int x) { return 2 * x; }}};
    bench::Unroll<40>::run([&](int i) { all += std::to_string(ops["inc"](i)); });
    auto t = bench::pipeline(std::vector<long>{3, 1, 2, 3});
    std::unique_ptr<std::unordered_set<std::string>> us(new std::unordered_set<std::string>{all});
    std::optional<std::size_t> n = us->size() + std::get<1>(t);
    std::cout << all << *n << '\n';
}
