#!/usr/bin/python3
"""PyTorch-Python counterpart of image_bench.cpp: the same WRN-16-4 and distinguisher CNN
(ResNet-18 CIFAR layout), the same batches, optimisers and thread count; prints images/s in the
same format. Run with Debian's /usr/bin/python3 (python3-torch, the same LibTorch 1.13), or the
Python of the LibTorch 2.x line; --device cuda on a GPU (scripts/gpu-check)."""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class WideBlock(nn.Module):
    def __init__(self, cin, cout, stride, dropout):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.dropout = dropout
        self.shortcut = (nn.Conv2d(cin, cout, 1, stride, 0, bias=False)
                         if cin != cout or stride != 1 else None)

    def forward(self, x):
        pre = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(pre)))
        if self.dropout > 0:
            out = F.dropout(out, self.dropout, self.training)
        out = self.conv2(out)
        return out + (self.shortcut(pre) if self.shortcut is not None else x)


class WideResNet(nn.Module):
    def __init__(self, depth=16, width=4, dropout=0.0, in_channels=3, classes=10):
        super().__init__()
        n = (depth - 4) // 6
        widths = [16 * width, 32 * width, 64 * width]
        self.stem = nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False)
        blocks, cin = [], 16
        for g, w in enumerate(widths):
            for b in range(n):
                blocks.append(WideBlock(cin, w, 2 if g > 0 and b == 0 else 1, dropout))
                cin = w
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(cin)
        self.fc = nn.Linear(cin, classes)

    def forward(self, x):
        out = F.relu(self.bn(self.blocks(self.stem(x))))
        return self.fc(F.adaptive_avg_pool2d(out, 1).flatten(1))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                       nn.BatchNorm2d(cout))
                         if stride != 1 or cin != cout else None)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + (self.shortcut(x) if self.shortcut is not None else x))


class Cnn(nn.Module):
    """The distinguisher's CNN branch (ResNet-18, 3x3 stem, no max-pool) with a one-logit head."""

    def __init__(self, in_channels=3, width=64, blocks=(2, 2, 2, 2)):
        super().__init__()
        self.stem = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(width)
        layers, cin = [], width
        for s, count in enumerate(blocks):
            cout = width << s
            for b in range(count):
                layers.append(BasicBlock(cin, cout, 2 if s > 0 and b == 0 else 1))
                cin = cout
        self.stages = nn.Sequential(*layers)
        self.head = nn.Linear(cin, 1)

    def forward(self, x):
        out = self.stages(F.relu(self.stem_bn(self.stem(x))))
        return self.head(F.adaptive_avg_pool2d(out, 1).flatten(1)).squeeze(1)


def images_per_second(step, batch, warmup, iters, device):
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        step()
    sync()
    start = time.perf_counter()
    for _ in range(iters):
        step()
    sync()
    return batch * iters / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iters", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch-wrn", type=int, default=128)
    parser.add_argument("--batch-cnn", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--case", action="append")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    wrn, cnn = WideResNet(), Cnn()
    count = lambda m: sum(p.numel() for p in m.parameters())
    print(f"# torch {torch.__version__} (python), {torch.get_num_threads()} threads, {device}; "
          f"wrn16-4 {count(wrn)} parameters, cnn {count(cnn)} parameters")
    wrn, cnn = wrn.to(device), cnn.to(device)
    big = WideResNet(depth=28, width=10).to(device) if "wrn28-10/train" in (args.case or []) else None
    xw = torch.rand(args.batch_wrn, 3, 32, 32).to(device)
    yw = torch.randint(0, 10, (args.batch_wrn,)).to(device)
    xc = torch.rand(args.batch_cnn, 3, 32, 32).to(device)
    yc = torch.randint(0, 2, (args.batch_cnn,)).float().to(device)
    wrn_opt = torch.optim.SGD(wrn.parameters(), lr=0.01, momentum=0.9)
    cnn_opt = torch.optim.SGD(cnn.parameters(), lr=0.01, momentum=0.9)
    big_opt = torch.optim.SGD(big.parameters(), lr=0.01, momentum=0.9) if big is not None else None

    def big_train():
        big.train()
        big_opt.zero_grad()
        F.cross_entropy(big(xw), yw).backward()
        big_opt.step()

    def wrn_train():
        wrn.train()
        wrn_opt.zero_grad()
        F.cross_entropy(wrn(xw), yw).backward()
        wrn_opt.step()

    def wrn_loss():
        with torch.no_grad():
            wrn.eval()
            F.cross_entropy(wrn(xw), yw, reduction="none")

    def cnn_train():
        cnn.train()
        cnn_opt.zero_grad()
        F.binary_cross_entropy_with_logits(cnn(xc), yc).backward()
        cnn_opt.step()

    def cnn_loss():
        with torch.no_grad():
            cnn.eval()
            torch.sigmoid(cnn(xc))

    cases = {"wrn16-4/train": (wrn_train, args.batch_wrn), "wrn16-4/loss": (wrn_loss, args.batch_wrn),
             "cnn/train": (cnn_train, args.batch_cnn), "cnn/loss": (cnn_loss, args.batch_cnn),
             "wrn28-10/train": (big_train, args.batch_wrn)}
    for name in args.case or [c for c in cases if c != "wrn28-10/train"]:
        step, batch = cases[name]
        print(f"{name:<14} batch {batch:4d}  {images_per_second(step, batch, args.warmup, args.iters, device):10.1f}"
              " images/s", flush=True)


if __name__ == "__main__":
    main()
