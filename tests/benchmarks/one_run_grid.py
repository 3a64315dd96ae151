"""jax-privacy's one-run audits (jax_privacy.auditing) on canary scores, for scripts/bench-peers.

Draws canary scores (in ~ N(shift, 1), out ~ N(0, 1), 500 of each, several shifts and seeds),
and at several explicit thresholds asks jax-privacy's CanaryScoreAuditor for epsilon_one_run
(Steinke et al.) and epsilon_one_run_fdp (Mahloujifar et al.) with Explicit(threshold): exactly
the guesses "in" for the canaries scoring at least the threshold (one-sided). Writes the guess
counts that implies (m r v delta level, one per line) to GRID and, to standard output, one line
per point: m r v delta level eps_o1 eps_fdp eps_o1_tight, where eps_o1_tight is jax-privacy's own
p-value solved with brentq to xtol 1e-13 instead of its 1e-6 (its f-DP objective is internal to
its search, so its f-DP bound is compared as returned, to its own 1e-6).

Usage: one_run_grid.py GRID
"""
import functools
import sys

import numpy as np
import scipy.optimize
from jax_privacy import auditing


def tight(objective):
    """The largest eps > 0 with objective(eps) > 0 (objective decreasing), to xtol 1e-13."""
    if objective(0.0) <= 0:
        return 0.0
    lo, hi = 0.0, 1.0
    while objective(hi) > 0:
        lo, hi = hi, hi * 2
    return scipy.optimize.brentq(objective, lo, hi, xtol=1e-13, rtol=4 * np.finfo(float).eps)


def o1_objective(m, r, v, level, delta, eps):
    return level - auditing._one_run_p_value(m, r, v, eps, delta)


def main():
    grid = open(sys.argv[1], "w")
    for shift in (0.5, 1.0, 2.0, 4.0):
        for seed in (0, 1):
            rng = np.random.default_rng(seed)
            scores_in = rng.normal(shift, 1.0, 500)
            scores_out = rng.normal(0.0, 1.0, 500)
            auditor = auditing.CanaryScoreAuditor(scores_in, scores_out)
            everything = np.sort(np.concatenate([scores_in, scores_out]))
            for top in (10, 50, 200):
                threshold = everything[-top]
                m = 1000
                r = int(np.sum(everything >= threshold))
                v = int(np.sum(scores_in >= threshold))
                for delta in (1e-5, 1e-3):
                    for level in (0.05, 0.01):
                        strategy = auditing.Explicit(threshold)
                        eps = auditor.epsilon_one_run(level, delta, threshold_strategy=strategy)
                        fdp = auditor.epsilon_one_run_fdp(level, delta, threshold_strategy=strategy)
                        eps_tight = tight(functools.partial(o1_objective, m, r, v, level, delta))
                        print(m, r, v, repr(delta), repr(level), repr(float(eps)),
                              repr(float(fdp)), repr(eps_tight))
                        grid.write(f"{m} {r} {v} {delta!r} {level!r}\n")
    grid.close()


if __name__ == "__main__":
    main()
