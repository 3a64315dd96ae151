// Our RDP accountant on a grid read from standard input, for scripts/bench-peers (which runs
// Opacus's accountant on the same grid). First line: the RDP orders; then one line per point:
// q sigma steps delta. Prints one line per point: q sigma steps delta epsilon order (%.17g).
// With --noise, the points are `target_epsilon delta q steps` and each line printed is
// target_epsilon delta q steps sigma, sigma being the noise our solver finds for the target.
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "dp/rdp.hpp"

int main(int argc, char** argv) {
  const bool noise = argc == 2 && std::string(argv[1]) == "--noise";
  if (argc > 1 && !noise) {
    std::cerr << "usage: rdp_grid [--noise] < grid\n";
    return 2;
  }
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
    if (noise) {
      double target = 0, delta = 0, q = 0;
      long long steps = 0;
      if (!(in >> target >> delta >> q >> steps)) {
        std::cerr << "rdp_grid: line " << row << " is not 'target_epsilon delta q steps'\n";
        return 2;
      }
      try {
        const double sigma = panoramia::dp::noise_for_epsilon(target, delta, q, steps, orders);
        std::printf("%.17g %.17g %.17g %lld %.17g\n", target, delta, q, steps, sigma);
      } catch (const std::exception& e) {
        std::cerr << "rdp_grid: line " << row << ": " << e.what() << "\n";
        return 2;
      }
      continue;
    }
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
