// Our one-run audits on guess counts read from standard input, for scripts/bench-peers (which runs
// jax-privacy's on the same counts). One line per point: m r v delta level (r guesses on m
// canaries, v correct; one-sided, as jax-privacy audits). Prints one line per point:
// m r v delta level eps_o1 eps_fdp mu_fdp (%.17g): Steinke et al.'s bound (our exact search) and
// the f-DP one-run bound of Mahloujifar et al. (μ-GDP, turned into ε at delta; 0 when delta = 0).
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "stats/bound.hpp"
#include "stats/fdp.hpp"

int main() {
  using namespace panoramia::stats;
  std::string line;
  int row = 0;
  while (std::getline(std::cin, line)) {
    ++row;
    if (line.empty()) continue;
    std::istringstream in(line);
    long long m = 0, r = 0, v = 0;
    double delta = 0, level = 0;
    if (!(in >> m >> r >> v >> delta >> level)) {
      std::cerr << "one_run_grid: line " << row << " is not 'm r v delta level'\n";
      return 2;
    }
    try {
      const double o1 = lower_bound(BoundQuery{m, r, v, level, delta, 0.0}, BoundSearch::kExact);
      const double mu = fdp_mu_lower_bound(m, r, v, level);
      const double fdp = delta > 0 ? gdp_epsilon(mu, delta) : 0.0;
      std::printf("%lld %lld %lld %.17g %.17g %.17g %.17g %.17g\n", m, r, v, delta, level, o1, fdp,
                  mu);
    } catch (const std::exception& e) {
      std::cerr << "one_run_grid: line " << row << ": " << e.what() << "\n";
      return 2;
    }
  }
  return 0;
}
