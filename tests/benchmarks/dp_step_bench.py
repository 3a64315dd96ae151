"""Opacus's counterpart of dp_step_bench.cpp, for scripts/bench-peers: milliseconds per DP-SGD step
with Opacus's PrivacyEngine (Poisson sampling, noise multiplier 1, clip norm 1, SGD), with its
per-sample gradients from hooks and from ghost clipping (grad_sample_mode "ghost"), and of the same
network's ordinary step on batches of the expected size, for --model mlp (the Adult MLP 108 -> 150
-> 100 -> 50 -> 10 -> 1, BCE) or wrn16-4 (image_bench.py's WRN-16-4 with its BatchNorm replaced by
Opacus's ModuleValidator.fix: GroupNorm(min(32, C), C), as ours; cross-entropy over 10 classes on
3x32x32 inputs). Same rows, threads and expected batch as the C++ run.

Usage: dp_step_bench.py [--model M] [--rows N] [--inputs D] [--batch B] [--steps S] [--threads T]
                        [--repeat R]
"""
import argparse
import time
import warnings

import torch
from torch.utils.data import DataLoader, TensorDataset

warnings.filterwarnings("ignore")
from opacus import PrivacyEngine  # noqa: E402


def network(a):
    if a.model == "wrn16-4":
        from image_bench import WideResNet
        from opacus.validators import ModuleValidator
        return ModuleValidator.fix(WideResNet(depth=16, width=4, dropout=0.0))
    inputs = a.inputs
    return torch.nn.Sequential(
        torch.nn.Linear(inputs, 150), torch.nn.ReLU(), torch.nn.Linear(150, 100), torch.nn.ReLU(),
        torch.nn.Linear(100, 50), torch.nn.ReLU(), torch.nn.Linear(50, 10), torch.nn.ReLU(),
        torch.nn.Linear(10, 1))


def loss_function(a):
    return torch.nn.CrossEntropyLoss() if a.model == "wrn16-4" else torch.nn.BCEWithLogitsLoss()


def outputs(a, out):
    return out if a.model == "wrn16-4" else out.squeeze(1)


def dp_step_ms(a, x, y, mode):
    model = network(a)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loader = DataLoader(TensorDataset(x, y), batch_size=a.batch)
    engine = PrivacyEngine(accountant="rdp")
    kwargs = dict(module=model, optimizer=optimizer, data_loader=loader, noise_multiplier=1.0,
                  max_grad_norm=1.0, poisson_sampling=True, grad_sample_mode=mode)
    criterion = loss_function(a)
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
        loss = criterion(outputs(a, model(xb)), yb)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - start) / a.steps * 1e3


def plain_step_ms(a, x, y):
    model = network(a)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    criterion = loss_function(a)
    start = time.perf_counter()
    for s in range(a.steps):
        first = (s * a.batch) % max(1, a.rows - a.batch)
        optimizer.zero_grad()
        criterion(outputs(a, model(x[first:first + a.batch])), y[first:first + a.batch]).backward()
        optimizer.step()
    return (time.perf_counter() - start) / a.steps * 1e3


def main():
    p = argparse.ArgumentParser()
    for name, default in [("rows", 30000), ("inputs", 108), ("batch", 256), ("steps", 50),
                          ("threads", 1), ("repeat", 3)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--model", choices=["mlp", "wrn16-4"], default="mlp")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model == "wrn16-4":
        x = torch.rand(a.rows, 3, 32, 32)
        y = torch.randint(10, (a.rows,))
    else:
        x = torch.randn(a.rows, a.inputs)
        y = ((x @ torch.randn(a.inputs) + torch.randn(a.rows)) > 0).float()
    hooks = min(dp_step_ms(a, x, y, "hooks") for _ in range(a.repeat))
    try:
        ghost = min(dp_step_ms(a, x, y, "ghost") for _ in range(a.repeat))
    except Exception as e:  # a layer ghost clipping does not support: say so, time the rest
        print(f"ghost_error {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
        ghost = float("nan")
    plain = min(plain_step_ms(a, x, y) for _ in range(a.repeat))
    print(f"impl opacus model {a.model} threads {a.threads} rows {a.rows} batch {a.batch} steps {a.steps}")
    print(f"dp_step_ms {hooks:.4f}")
    print(f"dp_ghost_step_ms {ghost:.4f}")
    print(f"plain_step_ms {plain:.4f}")


if __name__ == "__main__":
    main()
