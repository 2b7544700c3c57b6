// Compiled by g++ running under LD_PRELOAD of ft_malloc, then run (also preloaded).
#include <algorithm>
#include <iostream>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

int main()
{
    std::map<std::string, int> words;
    std::ostringstream text;
    for (int i = 0; i < 20000; i++)
        text << "w" << (i * 31 % 1009) << ' ';
    std::istringstream in(text.str());
    for (std::string w; in >> w;)
        words[w]++;
    std::vector<std::pair<int, std::string>> byCount;
    for (const auto &kv : words)
        byCount.emplace_back(kv.second, kv.first);
    std::sort(byCount.begin(), byCount.end());
    std::set<int> counts;
    for (const auto &p : byCount)
        counts.insert(p.first);
    std::vector<long> v(100000);
    std::iota(v.begin(), v.end(), 1);
    std::cout << words.size() << " words, first " << byCount.front().second << ", last " << byCount.back().second
              << ", " << counts.size() << " distinct counts, sum " << std::accumulate(v.begin(), v.end(), 0L)
              << std::endl;
    return 0;
}
