// STL-heavy translation unit for the allocator benchmark: g++ compiles it (the compiler's heap is
// what is measured: cc1plus inherits LD_PRELOAD); it is never linked or run. Sized for about one
// second of g++ -O1 on the 2-core machine (make bench QUICK=1 uses -fsyntax-only).
#include <algorithm>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <numeric>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
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

template auto bench::pipeline<int>(std::vector<int>);
template std::map<int, std::vector<std::string>> bench::group(
    const std::vector<std::pair<int, std::string>> &);

int main()
{
    std::string all = "x";
    auto t = bench::pipeline(std::vector<long>{3, 1, 2, 3});
    std::unique_ptr<std::unordered_set<std::string>> us(new std::unordered_set<std::string>{all});
    return static_cast<int>(us->size() + std::get<1>(t));
}
