"""Opacus's counterpart of dp_step_bench.cpp, for scripts/bench-peers: milliseconds per DP-SGD step
on the Adult MLP (108 -> 150 -> 100 -> 50 -> 10 -> 1, BCE) with Opacus's PrivacyEngine (Poisson
sampling, noise multiplier 1, clip norm 1, SGD), with its per-sample gradients from hooks and from
ghost clipping (grad_sample_mode "ghost"), and of the same network's ordinary step on batches of
the expected size. Same rows, threads and expected batch as the C++ run.

Usage: dp_step_bench.py [--rows N] [--inputs D] [--batch B] [--steps S] [--threads T] [--repeat R]
"""
import argparse
import time
import warnings

import torch
from torch.utils.data import DataLoader, TensorDataset

warnings.filterwarnings("ignore")
from opacus import PrivacyEngine  # noqa: E402


def network(inputs):
    return torch.nn.Sequential(
        torch.nn.Linear(inputs, 150), torch.nn.ReLU(), torch.nn.Linear(150, 100), torch.nn.ReLU(),
        torch.nn.Linear(100, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10), torch.nn.ReLU(),
        torch.nn.Linear(10, 1))


def dp_step_ms(a, x, y, mode):
    model = network(a.inputs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(x, y), batch_size=a.batch)
    engine = PrivacyEngine(accountant="rdp")
    kwargs = dict(module=model, optimizer=optimizer, data_loader=loader, noise_multiplier=1.0,
                  max_grad_norm=1.0, poisson_sampling=True, grad_sample_mode=mode)
    criterion = torch.nn.BCEWithLogitsLoss()
    if mode == "ghost":
        model, optimizer, criterion, loader = engine.make_private(criterion=criterion, **kwargs)
    else:
        model, optimizer, loader = engine.make_private(**kwargs)
    batches = iter(loader)
    start = time.perf_counter()
    for _ in range(a.steps):
        try:
            xb, yb = next(batches)
        except StopIteration:
            batches = iter(loader)
            xb, yb = next(batches)
        optimizer.zero_grad()
        loss = criterion(model(xb).squeeze(1), yb)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / a.steps * 1e3


def plain_step_ms(a, x, y):
    model = network(a.inputs)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    criterion = torch.nn.BCEWithLogitsLoss()
    start = time.perf_counter()
    for s in range(a.steps):
        first = (s * a.batch) % max(1, a.rows - a.batch)
        optimizer.zero_grad()
        criterion(model(x[first:first + a.batch]).squeeze(1), y[first:first + a.batch]).backward()
        optimizer.step()
    return (time.perf_counter() - start) / a.steps * 1e3


def main():
    p = argparse.ArgumentParser()
    for name, default in [("rows", 30000), ("inputs", 108), ("batch", 256), ("steps", 50),
                          ("threads", 1), ("repeat", 3)]:
        p.add_argument("--" + name, type=int, default=default)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.randn(a.rows, a.inputs)
    y = ((x @ torch.randn(a.inputs) + torch.randn(a.rows)) > 0).float()
    hooks = min(dp_step_ms(a, x, y, "hooks") for _ in range(a.repeat))
    ghost = min(dp_step_ms(a, x, y, "ghost") for _ in range(a.repeat))
    plain = min(plain_step_ms(a, x, y) for _ in range(a.repeat))
    print(f"impl opacus threads {a.threads} rows {a.rows} batch {a.batch} steps {a.steps}")
    print(f"dp_step_ms {hooks:.4f}")
    print(f"dp_ghost_step_ms {ghost:.4f}")
    print(f"plain_step_ms {plain:.4f}")


if __name__ == "__main__":
    main()
