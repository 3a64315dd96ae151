"""PyTorch-Python twin of mlp_bench.cpp: the same network, optimiser, batch size and data sizes.

Run with Debian's interpreter (python3-torch): /usr/bin/python3 mlp_bench.py [--rows N] ...
"""
import argparse
import time

import torch


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=30000)
    p.add_argument("--inputs", type=int, default=108)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--eval-batch", type=int, default=4096)  # as the C++ plugin scores
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    x = torch.randn(a.rows, a.inputs)
    w = torch.randn(a.inputs)
    y = ((x @ w + torch.randn(a.rows)) > 0).float()
    bce = torch.nn.functional.binary_cross_entropy_with_logits

    def network():
        return torch.nn.Sequential(
            torch.nn.Linear(a.inputs, 150), torch.nn.ReLU(),
            torch.nn.Linear(150, 100), torch.nn.ReLU(),
            torch.nn.Linear(100, 50), torch.nn.ReLU(),
            torch.nn.Linear(50, 10), torch.nn.ReLU(),
            torch.nn.Linear(10, 1))

    def epoch_seconds(net, opt):
        start = time.perf_counter()
        net.train()
        order = torch.randperm(a.rows)
        total = 0.0
        for i in range(0, a.rows, a.batch):
            idx = order[i:i + a.batch]
            xb, yb = x.index_select(0, idx), y.index_select(0, idx)
            opt.zero_grad()
            loss = bce(net(xb).squeeze(1), yb, reduction="none").mean()
            loss.backward()
            opt.step()
            total += loss.item() * idx.numel()  # the C++ loop reads the loss each step too
        return time.perf_counter() - start

    # Adam as PyTorch runs it by default on the CPU (a loop over the parameters), and, where
    # PyTorch has one (2.4 and later), its fused CPU kernel (Adam(fused=True)), which a user who
    # knows of it can ask for.
    fused = tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2]) >= (2, 4)
    best_train = best_fused = best_score = best_small = float("inf")
    for _ in range(a.repeat):
        if fused:
            net = network()
            best_fused = min(best_fused, epoch_seconds(
                net, torch.optim.Adam(net.parameters(), lr=1e-3, fused=True)))
        net = network()
        best_train = min(best_train, epoch_seconds(net, torch.optim.Adam(net.parameters(), lr=1e-3)))

        with torch.no_grad():
            net.eval()
            start = time.perf_counter()
            parts = [net(x[i:i + a.eval_batch]).squeeze(1) for i in range(0, a.rows, a.eval_batch)]
            losses = bce(torch.cat(parts), y, reduction="none")
            best_score = min(best_score, time.perf_counter() - start)
            assert torch.isfinite(losses).all()
            start = time.perf_counter()
            for i in range(0, a.rows, a.batch):
                bce(net(x[i:i + a.batch]).squeeze(1), y[i:i + a.batch], reduction="none")
            best_small = min(best_small, time.perf_counter() - start)

    print(f"impl python threads {a.threads} rows {a.rows} inputs {a.inputs} batch {a.batch}")
    print(f"train_rows_per_s {a.rows / best_train:.1f}")
    if fused:
        print(f"train_fused_adam_rows_per_s {a.rows / best_fused:.1f}")
    print(f"score_rows_per_s {a.rows / best_score:.1f}")
    print(f"score_batch_rows_per_s {a.rows / best_small:.1f}")


if __name__ == "__main__":
    main()
