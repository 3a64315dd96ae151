"""The Python peers of ctgan_bench.cpp, for scripts/bench-peers.

  train: fits the reference CTGAN (the `ctgan` package) on a CSV file with the same epochs, batch
         and pac, prints `prepare_s` (from fit's start to its first epoch: the transformer and the
         sampler) and the median, shortest and longest epoch (timed where fit's progress bar
         would tick), then writes --samples rows to --out;
  xgb:   trains XGBoost's Python package on a split ctgan_bench dumped, one booster per line of
         the parameter list, with the parameters our C API layer (plugins/gbm/xgb.cpp) sets, and
         prints each one's time and held-out AUC.

Usage: ctgan_bench.py train --train F --out F [--epochs E] [--batch B] [--pac P] [--samples N]
                            [--seed S] [--threads T]
       ctgan_bench.py xgb --dump DIR --params F [--threads T]
"""
import argparse
import time
import warnings

import numpy as np

warnings.filterwarnings("ignore")


class EpochClock:
    """Stands in for the tqdm that CTGAN.fit wraps its epochs in: records when each epoch ends."""

    def __init__(self, iterable, **_):
        self.iterable = iterable
        EpochClock.ticks = []

    def set_description(self, *_):
        pass

    def __iter__(self):
        EpochClock.ticks.append(time.perf_counter())
        for item in self.iterable:
            yield item
            EpochClock.ticks.append(time.perf_counter())


def train(a):
    import pandas as pd
    import torch
    import ctgan.synthesizers.ctgan as reference

    torch.set_num_threads(a.threads)
    reference.tqdm = EpochClock
    data = pd.read_csv(a.train, skipinitialspace=True)
    # The kinds our csv reader infers: continuous when every value is a number.
    discrete = [c for c in data.columns if not pd.api.types.is_numeric_dtype(data[c])]
    model = reference.CTGAN(epochs=a.epochs, batch_size=a.batch, pac=a.pac, enable_gpu=False)
    model.set_random_state(a.seed)
    start = time.perf_counter()
    model.fit(data, discrete)
    ticks = EpochClock.ticks
    times = sorted(b - e for e, b in zip(ticks, ticks[1:]))
    print(f"prepare_s {ticks[0] - start:.4f}")
    print(f"epoch_s {times[len(times) // 2]:.4f}\nepoch_min_s {times[0]:.4f}")
    print(f"epoch_max_s {times[-1]:.4f}\nsteps_per_epoch {max(len(data) // a.batch, 1)}")
    start = time.perf_counter()
    model.sample(a.samples).to_csv(a.out, index=False)
    print(f"sample_s {time.perf_counter() - start:.4f}")


def auc(scores, labels):
    """Area under the ROC curve, ties counted one half (as gbm::roc_auc)."""
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores))
    s = scores[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1
        i = j + 1
    pos = labels == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def xgb(a):
    import xgboost

    def load(name):
        m = np.loadtxt(f"{a.dump}/{name}.csv", delimiter=",", dtype=np.float64)
        return m[:, 1:].astype(np.float32), m[:, 0].astype(np.float32)

    x_train, y_train = load("train")
    x_test, y_test = load("test")
    for line in open(a.params):
        fields = line.split()
        if len(fields) != 4:
            continue
        depth, leaves, rounds, eta = int(fields[0]), int(fields[1]), int(fields[2]), float(fields[3])
        params = {"objective": "binary:logistic", "tree_method": "hist",
                  "grow_policy": "lossguide", "max_depth": depth, "max_leaves": leaves, "eta": eta,
                  "min_child_weight": 1, "scale_pos_weight": 1, "seed": 0, "nthread": a.threads,
                  "verbosity": 0}
        start = time.perf_counter()
        booster = xgboost.train(params, xgboost.DMatrix(x_train, label=y_train), rounds)
        scores = booster.predict(xgboost.DMatrix(x_test))
        seconds = time.perf_counter() - start
        print(f"{depth} {leaves} {rounds} {eta:g} {seconds:.4f} {auc(scores, y_test):.8f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["train", "xgb"])
    p.add_argument("--train")
    p.add_argument("--out")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--pac", type=int, default=10)
    p.add_argument("--samples", type=int, default=10000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--dump")
    p.add_argument("--params")
    a = p.parse_args()
    train(a) if a.command == "train" else xgb(a)


if __name__ == "__main__":
    main()
