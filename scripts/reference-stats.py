#!/usr/bin/python3
"""The reference PANORAMIA statistics on a score CSV, as the paper's plotting code computes them
(docs: README "The statistics"): 100 thresholds linspace(0, 1), `score > t`, r = TP + FP, v = TP,
p-value P[Bin(r, sigmoid(e)) >= v] by scipy's binomial survival function, integer bracket and
exactly 30 bisections at level 0.05 / (2 * 100). Written for the benchmark (scripts/bench-stats),
which times it beside `panoramia stats` on the same file.

usage: reference-stats.py FILE
"""
import sys

import numpy as np
import pandas as pd
from scipy.stats import binom

LEVEL = 0.05 / (2 * 100)


def pvalue(r, v, e):
    if r == 0 or v == 0:
        return 1.0
    q = 1.0 / (1.0 + np.exp(-e))
    return min(1.0, binom.sf(v - 1, r, q))


def bound(r, v):
    lo, hi = 0.0, 1.0
    while pvalue(r, v, hi) < LEVEL:
        hi += 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if pvalue(r, v, mid) < LEVEL:
            lo = mid
        else:
            hi = mid
    return lo


def main():
    frame = pd.read_csv(sys.argv[1])
    member = frame["member"].to_numpy() == 1
    for column in frame.columns[1:]:
        scores = frame[column].to_numpy()
        best = 0.0
        for t in np.linspace(0, 1, 100):
            guess = scores > t
            r = int(guess.sum())
            v = int((guess & member).sum())
            best = max(best, bound(r, v))
        print(f"{column}: {best:.6f}")


if __name__ == "__main__":
    main()
