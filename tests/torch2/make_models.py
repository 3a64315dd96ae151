"""Writes the models the LibTorch 2.x line's tests audit, with the PyTorch of the wheel that line
builds against (scripts/run-tests-libtorch2):

  sdpa.pt        an image classifier scripted by torch.jit.script whose forward calls
                 scaled_dot_product_attention, an operator LibTorch 1.13 does not have;
  classifier.pt2 an image classifier exported by torch.export (dynamic batch) and compiled into a
                 package by AOTInductor for the CPU;
  inputs.bin     8 images [8, 1, 28, 28] and outputs.bin the package's logits [8, 10] on them, as
                 Python runs it (float32, little-endian, row-major), for the C++ loader to match;
  version.txt    torch.__version__.

Usage: make_models.py OUT_DIR
"""
import os
import struct
import sys

import torch
import torch.nn.functional as F
from torch import nn


class PatchAttention(nn.Module):
    """28x28 grey images as 49 patches of 4x4, one self-attention layer, mean-pooled, 10 logits."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(16, 32)
        self.out = nn.Linear(32, 10)

    def forward(self, x):
        n = x.size(0)
        patches = x.reshape(n, 7, 4, 7, 4).permute(0, 1, 3, 2, 4).reshape(n, 49, 16)
        h = torch.relu(self.embed(patches))
        a = F.scaled_dot_product_attention(h, h, h)
        return self.out(a.mean(1))


class SmallConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8 * 14 * 14, 10)

    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.jit.script(PatchAttention().eval()).save(os.path.join(out, "sdpa.pt"))

    model = SmallConv().eval()
    example = torch.rand(4, 1, 28, 28)
    batch = torch.export.Dim("batch", min=1, max=4096)
    program = torch.export.export(model, (example,), dynamic_shapes={"x": {0: batch}})
    package = os.path.join(out, "classifier.pt2")
    torch._inductor.aoti_compile_and_package(program, package_path=package)

    inputs = torch.rand(8, 1, 28, 28)
    compiled = torch._inductor.aoti_load_package(package)
    with torch.no_grad():
        outputs = compiled(inputs)
    for name, tensor in (("inputs.bin", inputs), ("outputs.bin", outputs)):
        values = tensor.flatten().tolist()  # float32 values, exact in Python floats
        with open(os.path.join(out, name), "wb") as f:
            f.write(struct.pack("<%df" % len(values), *values))
    with open(os.path.join(out, "version.txt"), "w") as f:
        f.write(torch.__version__ + "\n")


if __name__ == "__main__":
    main()
