#!/usr/bin/python3
"""PyTorch-Python counterpart of stylegan2_bench.cpp (issue 17): the `stylegan2` plugin's networks
at the `tiny` preset (plugins/stylegan2/{layers,networks,presets}.cpp) for 3x32x32 images and 10
classes, and its training step (stylegan2.cpp, StyleGan2::train_step), op for op:

  G: mapping network (z and a label embedding, each normalised to unit second moment, 2 layers of
     64 with lr multiplier 0.01, running w average), 4x4 constant, modulated 3x3 convolutions with
     demodulation (scale, convolve, rescale), per-layer random noise with learned strength, skip
     architecture with toRGB, 2x upsampling by zero insertion and [1,3,3,1] as shifted slices;
  D: resnet blocks (fromRGB, conv, conv with [1,3,3,1] blur then stride 2, 1x1 skip with gain
     sqrt(1/2)), minibatch stddev (group 4), epilogue conv and fc, projection conditioning through
     a 2-layer label mapping; equalised learning rate everywhere;
  step: G non-saturating logistic loss, D logistic loss, lazy R1 (gamma 0.01, every 16 steps
     counted from the first, warm-up included, weighted by 16), Adam lr 0.0025 betas (0, 0.99)
     with the lazy-regularisation adjustment (interval 4 for G, 16 for D), G EMA (10 kimg,
     ramp-up 0.05). ADA is off on both sides (see stylegan2_bench.cpp).

Prints the same `key value` lines as the C++ binary. Run with Debian's /usr/bin/python3
(python3-torch, the same LibTorch 1.13), or the Python of the LibTorch 2.x line.

  stylegan2_bench.py [--batch B] [--steps S] [--warmup W] [--threads T]
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

SQRT2 = math.sqrt(2.0)
CHANNELS, SIDE, CLASSES = 3, 32, 10
# The tiny preset (presets.cpp) with the cifar defaults it keeps.
Z_DIM = W_DIM = 64
MAPPING_LAYERS = D_MAPPING_LAYERS = 2
CHANNEL_BASE, CHANNEL_MAX, MBSTD_GROUP = 512, 64, 4
BATCH, LR, BETAS, R1_GAMMA, R1_INTERVAL, G_REG_INTERVAL = 32, 0.0025, (0.0, 0.99), 0.01, 16, 4
EMA_KIMG, EMA_RAMPUP = 10.0, 0.05
W_AVG_BETA = 0.995


def base_resolution(resolution):
    base = resolution
    while base % 2 == 0 and base // 2 >= 4:
        base //= 2
    return base


def channels_at(r):
    return max(1, min(CHANNEL_BASE // r, CHANNEL_MAX))


def normalize_2nd_moment(x):
    return x * torch.rsqrt(x.square().mean(1, keepdim=True) + 1e-8)


def lrelu_gain(x):
    return F.leaky_relu(x, 0.2) * SQRT2


def upsample_dim(x, dim):
    """2x along dim: zero insertion then [1,3,3,1]/4, as per-phase weights on shifted slices."""
    n = x.size(dim)
    padded = torch.constant_pad_nd(x.transpose(dim, -1), (1, 1), 0.0).transpose(dim, -1)
    prev, cur, nxt = padded.narrow(dim, 0, n), padded.narrow(dim, 1, n), padded.narrow(dim, 2, n)
    even = prev * 0.25 + cur * 0.75
    odd = cur * 0.75 + nxt * 0.25
    shape = list(x.shape)
    shape[dim] = 2 * n
    return torch.stack((even, odd), dim + 1).reshape(shape)


def blur_dim(x, dim):
    """[1,3,3,1]/8 along dim with 2 zeros before and 1 after."""
    n = x.size(dim)
    padded = torch.constant_pad_nd(x.transpose(dim, -1), (2, 1), 0.0).transpose(dim, -1)
    return (padded.narrow(dim, 0, n) + padded.narrow(dim, 3, n) +
            (padded.narrow(dim, 1, n) + padded.narrow(dim, 2, n)) * 3.0) * 0.125


def upsample2x(x):
    return upsample_dim(upsample_dim(x, 2), 3)


def blur(x):
    return blur_dim(blur_dim(x, 2), 3)


class EqualLinear(nn.Module):
    def __init__(self, cin, cout, activation, bias_init=0.0, lr_mul=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.activation, self.bias_init, self.lr_mul = activation, bias_init, lr_mul
        self.weight_gain = lr_mul / math.sqrt(cin)

    def reset(self, g):
        self.weight.copy_(torch.randn(self.weight.shape, generator=g) / self.lr_mul)
        self.bias.fill_(self.bias_init / self.lr_mul)

    def forward(self, x):
        out = torch.addmm(self.bias * self.lr_mul, x, (self.weight * self.weight_gain).t())
        return lrelu_gain(out) if self.activation else out


class EqualConv(nn.Module):
    def __init__(self, cin, cout, kernel, activation, down=False, bias=True, gain=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(cout)) if bias else None
        self.kernel, self.activation, self.down, self.gain = kernel, activation, down, gain
        self.weight_gain = 1.0 / math.sqrt(cin * kernel * kernel)

    def reset(self, g):
        self.weight.copy_(torch.randn(self.weight.shape, generator=g))
        if self.bias is not None:
            self.bias.zero_()

    def forward(self, x):
        inp = blur(x) if self.down else x
        out = F.conv2d(inp, self.weight * self.weight_gain, self.bias, 2 if self.down else 1,
                       self.kernel // 2)
        if self.activation:
            out = lrelu_gain(out)
        return out * self.gain if self.gain != 1.0 else out


class SynthesisLayer(nn.Module):
    def __init__(self, cin, cout, resolution, up):
        super().__init__()
        self.affine = EqualLinear(W_DIM, cin, False, 1.0)
        self.weight = nn.Parameter(torch.zeros(cout, cin, 3, 3))
        self.bias = nn.Parameter(torch.zeros(cout))
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("noise_const", torch.zeros(resolution, resolution))
        self.resolution, self.up = resolution, up

    def reset(self, g):
        self.weight.copy_(torch.randn(self.weight.shape, generator=g))
        self.bias.zero_()
        self.noise_strength.zero_()
        self.noise_const.copy_(torch.randn(self.noise_const.shape, generator=g))

    def forward(self, x, w, g):
        styles = self.affine(w)
        out = x * styles.unsqueeze(2).unsqueeze(3)
        if self.up:
            out = upsample2x(out)
        out = F.conv2d(out, self.weight, None, 1, 1)
        demod = torch.rsqrt(torch.matmul(styles.square(), self.weight.square().sum((2, 3)).t()) +
                            1e-8)
        out = out * demod.unsqueeze(2).unsqueeze(3)
        noise = torch.randn((out.size(0), 1, self.resolution, self.resolution), generator=g)
        out = out + noise * self.noise_strength
        return lrelu_gain(out + self.bias.view(1, -1, 1, 1))


class ToRgb(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.affine = EqualLinear(W_DIM, cin, False, 1.0)
        self.weight = nn.Parameter(torch.zeros(CHANNELS, cin, 1, 1))
        self.bias = nn.Parameter(torch.zeros(CHANNELS))
        self.weight_gain = 1.0 / math.sqrt(cin)

    def reset(self, g):
        self.weight.copy_(torch.randn(self.weight.shape, generator=g))
        self.bias.zero_()

    def forward(self, x, w):
        styles = self.affine(w) * self.weight_gain
        out = F.conv2d(x * styles.unsqueeze(2).unsqueeze(3), self.weight)
        return out + self.bias.view(1, -1, 1, 1)


class MappingNetwork(nn.Module):
    def __init__(self, z_dim, w_dim, layers, lr_mul=0.01):
        super().__init__()
        self.z_dim = z_dim
        self.embed = EqualLinear(CLASSES, w_dim, False)
        cin = z_dim + w_dim
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(EqualLinear(cin, w_dim, True, 0.0, lr_mul))
            cin = w_dim
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z, one_hot):
        parts = [normalize_2nd_moment(z)] if self.z_dim > 0 else []
        parts.append(normalize_2nd_moment(self.embed(one_hot)))
        x = parts[0] if len(parts) == 1 else torch.cat(parts, 1)
        for layer in self.layers:
            x = layer(x)
        if self.training and self.z_dim > 0:
            with torch.no_grad():
                self.w_avg.copy_(x.detach().mean(0).lerp(self.w_avg, W_AVG_BETA))
        return x


class SynthesisBlock(nn.Module):
    def __init__(self, cin, cout, resolution, first):
        super().__init__()
        self.first = first
        if first:
            self.const = nn.Parameter(torch.zeros(cout, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(cin, cout, resolution, True)
        self.conv1 = SynthesisLayer(cout, cout, resolution, False)
        self.torgb = ToRgb(cout)

    def forward(self, x, img, w, g):
        if self.first:
            x = self.const.unsqueeze(0).expand(w.size(0), -1, -1, -1)
        else:
            x = self.conv0(x, w, g)
        x = self.conv1(x, w, g)
        y = self.torgb(x, w)
        return x, (upsample2x(img) + y if img is not None else y)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.mapping = MappingNetwork(Z_DIM, W_DIM, MAPPING_LAYERS)
        self.blocks = nn.ModuleList()
        cin, r = 0, base_resolution(SIDE)
        while r <= SIDE:
            self.blocks.append(SynthesisBlock(cin, channels_at(r), r, cin == 0))
            cin, r = channels_at(r), r * 2

    @torch.no_grad()
    def reset(self, g):
        for m in self.modules():
            if m is not self and hasattr(m, "reset"):
                m.reset(g)
        for block in self.blocks:
            if block.first:
                block.const.copy_(torch.randn(block.const.shape, generator=g))
        self.mapping.w_avg.zero_()

    def forward(self, z, labels, g):
        w = self.mapping(z, F.one_hot(labels, CLASSES).to(torch.float32))
        x = img = None
        for block in self.blocks:
            x, img = block(x, img, w, g)
        return img


class DiscriminatorBlock(nn.Module):
    def __init__(self, cin, cout, first):
        super().__init__()
        self.fromrgb = EqualConv(CHANNELS, cin, 1, True) if first else None
        self.conv0 = EqualConv(cin, cin, 3, True)
        self.conv1 = EqualConv(cin, cout, 3, True, True)
        self.skip = EqualConv(cin, cout, 1, False, True, False, math.sqrt(0.5))

    def forward(self, inp):
        x = self.fromrgb(inp) if self.fromrgb is not None else inp
        out = self.conv1(self.conv0(x))
        return self.skip(x) + out * math.sqrt(0.5)


def minibatch_stddev(x, group):
    n, c, h, w = x.shape
    g = min(group, n)
    while n % g != 0:
        g -= 1
    y = x.reshape(g, n // g, 1, c, h, w)
    y = y - y.mean(0)
    y = (y.square().mean(0) + 1e-8).sqrt()
    y = y.mean((2, 3, 4))
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat((x, y), 1)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList()
        base, r = base_resolution(SIDE), SIDE
        while r > base:
            self.blocks.append(DiscriminatorBlock(channels_at(r), channels_at(r // 2), r == SIDE))
            r //= 2
        c = channels_at(base)
        self.cmap_dim = c
        self.mapping = MappingNetwork(0, c, D_MAPPING_LAYERS)
        self.epilogue_conv = EqualConv(c + 1, c, 3, True)
        self.epilogue_fc = EqualLinear(c * base * base, c, True)
        self.out = EqualLinear(c, c, False)

    @torch.no_grad()
    def reset(self, g):
        for m in self.modules():
            if m is not self and hasattr(m, "reset"):
                m.reset(g)

    def forward(self, img, labels):
        x = img
        for block in self.blocks:
            x = block(x)
        x = minibatch_stddev(x, MBSTD_GROUP)
        x = self.epilogue_conv(x)
        x = self.epilogue_fc(x.flatten(1))
        x = self.out(x)
        cmap = self.mapping(None, F.one_hot(labels, CLASSES).to(torch.float32))
        return (x * cmap).sum(1) / math.sqrt(self.cmap_dim)


def lazy_adam(module, interval):
    ratio = interval / (interval + 1)
    return torch.optim.Adam(module.parameters(), lr=LR * ratio,
                            betas=(BETAS[0] ** ratio, BETAS[1] ** ratio), eps=1e-8)


def set_requires_grad(module, value):
    for p in module.parameters():
        p.requires_grad_(value)


def descend(optimizer, loss):
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


class StyleGan2:
    def __init__(self, batch, seed=1):
        self.gen = torch.Generator().manual_seed(seed)
        self.batch = batch
        self.g, self.d = Generator(), Discriminator()
        self.g.reset(self.gen)
        self.d.reset(self.gen)
        self.g_ema = Generator()
        self.g_ema.load_state_dict(self.g.state_dict())
        self.g_ema.eval()
        self.g_opt = lazy_adam(self.g, G_REG_INTERVAL)
        self.d_opt = lazy_adam(self.d, R1_INTERVAL)
        self.step = self.cur_nimg = 0
        self.label_pool = torch.arange(CLASSES)

    def random_labels(self, n):
        idx = torch.randint(0, self.label_pool.size(0), (n,), generator=self.gen, dtype=torch.int64)
        return self.label_pool.index_select(0, idx)

    def update_ema(self):
        ema_nimg = EMA_KIMG * 1000.0
        if EMA_RAMPUP > 0:
            ema_nimg = min(ema_nimg, self.cur_nimg * EMA_RAMPUP)
        beta = 0.5 ** (self.batch / max(ema_nimg, 1e-8))
        with torch.no_grad():
            params = dict(self.g.named_parameters())
            for name, p in self.g_ema.named_parameters():
                p.copy_(params[name].lerp(p, beta))
            buffers = dict(self.g.named_buffers())
            for name, b in self.g_ema.named_buffers():
                b.copy_(buffers[name])

    def train_step(self, reals, labels):
        n = reals.size(0)
        real = reals.to(torch.float32) * 2.0 - 1.0
        real_c = labels
        self.g.train()
        self.d.train()
        losses = {}

        set_requires_grad(self.d, False)
        z = torch.randn((n, Z_DIM), generator=self.gen)
        c = self.random_labels(n)
        fake = self.g(z, c, self.gen)
        loss = F.softplus(-self.d(fake, c)).mean()
        descend(self.g_opt, loss)
        losses["g"] = loss.item()
        set_requires_grad(self.d, True)

        z = torch.randn((n, Z_DIM), generator=self.gen)
        c = self.random_labels(n)
        with torch.no_grad():
            fake = self.g(z, c, self.gen)
        real_logits = self.d(real, real_c)
        loss = F.softplus(self.d(fake, c)).mean() + F.softplus(-real_logits).mean()
        descend(self.d_opt, loss)
        losses["d"] = loss.item()

        if R1_GAMMA > 0 and self.step % R1_INTERVAL == 0:
            x = real.detach().requires_grad_(True)
            logits = self.d(x, real_c)
            grad, = torch.autograd.grad([logits.sum()], [x], retain_graph=True, create_graph=True)
            penalty = grad.square().sum((1, 2, 3))
            loss = (penalty * (R1_GAMMA / 2)).mean() * float(R1_INTERVAL)
            descend(self.d_opt, loss)
            losses["r1"] = penalty.mean().item()
        self.step += 1
        self.cur_nimg += n
        self.update_ema()
        return losses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--steps", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gan = StyleGan2(a.batch)
    reals = torch.rand(a.batch, CHANNELS, SIDE, SIDE)
    labels = torch.randint(0, CLASSES, (a.batch,), dtype=torch.int64)

    for _ in range(a.warmup):
        gan.train_step(reals, labels)
    total = r1_total = 0.0
    r1_steps = 0
    for s in range(a.warmup, a.warmup + a.steps):
        start = time.perf_counter()
        gan.train_step(reals, labels)
        seconds = time.perf_counter() - start
        total += seconds
        if s % R1_INTERVAL == 0:
            r1_total += seconds
            r1_steps += 1
    plain_steps = a.steps - r1_steps

    count = lambda m: sum(p.numel() for p in m.parameters())
    print(f"# torch {torch.__version__} (python), {torch.get_num_threads()} threads")
    print(f"impl python\nthreads {a.threads}\nbatch {a.batch}\nsteps {a.steps}\nwarmup {a.warmup}")
    print(f"r1_steps {r1_steps}\ng_params {count(gan.g)}\nd_params {count(gan.d)}")
    print(f"step_ms {total / a.steps * 1e3:.3f}")
    if plain_steps > 0:
        print(f"plain_step_ms {(total - r1_total) / plain_steps * 1e3:.3f}")
    if r1_steps > 0:
        print(f"r1_step_ms {r1_total / r1_steps * 1e3:.3f}")
    print(f"kimg_per_s {a.batch * a.steps / total / 1e3:.5f}")


if __name__ == "__main__":
    main()
