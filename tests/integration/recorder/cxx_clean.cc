// A C++ program that frees everything it allocates, throws and catches exceptions, and prints
// nothing through stdio (whose buffer would stay allocated): under a full trace it must leave
// no block allocated at the end, libstdc++'s emergency exception pool included.
#include <unistd.h>

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

int main() {
  size_t total = 0;
  for (int round = 0; round < 200; ++round) {
    std::map<int, std::string> names;
    for (int i = 0; i < 100; ++i) names[i] = std::string(static_cast<size_t>(i % 40) + 20, 'x');
    auto numbers = std::make_unique<std::vector<double>>(static_cast<size_t>(round) + 1, 1.0);
    try {
      if (round % 10 == 0) throw std::runtime_error("round " + std::to_string(round));
    } catch (const std::exception& e) {
      total += std::string(e.what()).size();
    }
    total += names.size() + numbers->size();
  }
  char line[64];
  int n = 0;
  for (size_t v = total; n == 0 || v != 0; v /= 10) line[n++] = static_cast<char>('0' + v % 10);
  for (int i = 0; i < n / 2; ++i) std::swap(line[i], line[n - 1 - i]);
  line[n++] = '\n';
  return write(1, line, static_cast<size_t>(n)) == n ? 0 : 1;
}
