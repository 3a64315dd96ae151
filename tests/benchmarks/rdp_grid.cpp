// Our RDP accountant on a grid read from standard input, for scripts/bench-peers (which runs
// Opacus's accountant on the same grid). First line: the RDP orders; then one line per point:
// q sigma steps delta. Prints one line per point: q sigma steps delta epsilon order (%.17g).
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "dp/rdp.hpp"

int main() {
  std::string line;
  if (!std::getline(std::cin, line)) {
    std::cerr << "rdp_grid: the first line must hold the RDP orders\n";
    return 2;
  }
  std::vector<double> orders;
  std::istringstream first(line);
  for (double a = 0; first >> a;) orders.push_back(a);
  int row = 1;
  while (std::getline(std::cin, line)) {
    ++row;
    if (line.empty()) continue;
    std::istringstream in(line);
    double q = 0, sigma = 0, delta = 0;
    long long steps = 0;
    if (!(in >> q >> sigma >> steps >> delta)) {
      std::cerr << "rdp_grid: line " << row << " is not 'q sigma steps delta'\n";
      return 2;
    }
    try {
      const auto spent = panoramia::dp::dp_sgd_epsilon(q, sigma, steps, delta, orders);
      std::printf("%.17g %.17g %lld %.17g %.17g %.17g\n", q, sigma, steps, delta, spent.epsilon,
                  spent.order);
    } catch (const std::exception& e) {
      std::cerr << "rdp_grid: line " << row << ": " << e.what() << "\n";
      return 2;
    }
  }
  return 0;
}
