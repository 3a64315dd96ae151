"""Opacus's counterpart of dp_step_bench.cpp, for scripts/bench-peers: milliseconds per DP-SGD step
with Opacus's PrivacyEngine (Poisson sampling, noise multiplier 1, clip norm 1, SGD), with its
per-sample gradients from hooks and from ghost clipping (grad_sample_mode "ghost"), and of the same
network's ordinary step on batches of the expected size, for --model mlp (the Adult MLP 108 -> 150
-> 100 -> 50 -> 10 -> 1, BCE) or wrn16-4 (image_bench.py's WRN-16-4 with its BatchNorm replaced by
Opacus's ModuleValidator.fix: GroupNorm(min(32, C), C), as ours; cross-entropy over 10 classes on
3x32x32 inputs) or gpt2 (gpt2_bench.py's tiny GPT-2, 2 layers, 2 heads, width 64, 50,257 tokens,
its head an nn.Linear tied to the token embedding, which Opacus's per-sample gradients follow
through both modules; a block's mean next-token loss). Same rows, threads and expected batch as the
C++ run.

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


class TiedGpt2(torch.nn.Module):
    """gpt2_bench.Gpt2 with its head as a module (the same weight as the token embedding), so
    that Opacus computes the head's per-sample gradients too (a functional use it cannot see)."""

    def __init__(self):
        super().__init__()
        from gpt2_bench import Gpt2
        self.body = Gpt2(2, 2, 64, 64, 50257, dropout=0.1)
        self.head = torch.nn.Linear(64, 50257, bias=False)
        self.head.weight = self.body.wte.weight

    def forward(self, ids):
        b = self.body
        # Positions per block (not broadcast), so that Opacus sees the batch dimension here too.
        positions = torch.arange(ids.shape[1]).expand(ids.shape[0], -1)
        x = b.drop(b.wte(ids) + b.wpe(positions))
        for block in b.h:
            x = block(x)
        return self.head(b.ln_f(x))


class BlockLoss(torch.nn.Module):
    """Each block's mean next-token loss (a block is the unit of privacy), reduced over the blocks
    as `reduction` says (Opacus's ghost clipping asks for "none" to get one loss per block)."""

    def __init__(self):
        super().__init__()
        self.reduction = "mean"

    def forward(self, logits, ids):
        losses = torch.nn.functional.cross_entropy(
            logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="none")
        per_block = losses.view(ids.shape[0], -1).mean(1)
        if self.reduction == "none":
            return per_block
        return per_block.sum() if self.reduction == "sum" else per_block.mean()


def network(a):
    if a.model == "gpt2":
        return TiedGpt2()
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
    if a.model == "gpt2":
        return BlockLoss()
    return torch.nn.CrossEntropyLoss() if a.model == "wrn16-4" else torch.nn.BCEWithLogitsLoss()


def outputs(a, out):
    return out if a.model != "mlp" else out.squeeze(1)


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
    p.add_argument("--model", choices=["mlp", "wrn16-4", "gpt2"], default="mlp")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model == "gpt2":
        x = torch.randint(0, 50257, (a.rows, 64))
        y = x  # the targets are the blocks themselves, shifted inside the loss
    elif a.model == "wrn16-4":
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
