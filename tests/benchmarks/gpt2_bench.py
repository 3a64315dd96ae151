"""PyTorch-Python twin of gpt2_bench.cpp: the same tiny GPT-2 (pre-LayerNorm blocks, tanh GELU,
tied embeddings, key/value cache), the same training step (AdamW without decay on biases and
LayerNorms, linear warmup/decay, gradient clipping), loss scoring and top-k sampling.

Run with Debian's interpreter (python3-torch): /usr/bin/python3 gpt2_bench.py [--layers L] ...
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F


class Block(torch.nn.Module):
    def __init__(self, width, heads, dropout):
        super().__init__()
        self.heads = heads
        self.ln_1 = torch.nn.LayerNorm(width)
        self.c_attn = torch.nn.Linear(width, 3 * width)
        self.attn_proj = torch.nn.Linear(width, width)
        self.ln_2 = torch.nn.LayerNorm(width)
        self.c_fc = torch.nn.Linear(width, 4 * width)
        self.mlp_proj = torch.nn.Linear(4 * width, width)
        self.drop = torch.nn.Dropout(dropout)

    def attention(self, x, cache):
        b, t, c = x.shape
        d = c // self.heads
        q, k, v = self.c_attn(x).split(c, 2)
        q, k, v = (y.view(b, t, self.heads, d).transpose(1, 2) for y in (q, k, v))
        past = 0
        if cache is not None:
            if cache[0] is not None:
                past = cache[0].shape[2]
                k = torch.cat([cache[0], k], 2)
                v = torch.cat([cache[1], v], 2)
            cache[0], cache[1] = k, v
        att = q @ k.transpose(-2, -1) * (1.0 / math.sqrt(d))
        if t > 1:
            mask = torch.ones(t, past + t, dtype=torch.bool).tril(past)
            att = att.masked_fill(~mask, float("-inf"))
        att = self.drop(torch.softmax(att, -1))
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        return self.drop(self.attn_proj(y))

    def forward(self, x, cache=None):
        x = x + self.attention(self.ln_1(x), cache)
        return x + self.drop(self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")))


class Gpt2(torch.nn.Module):
    def __init__(self, layers, heads, width, context, vocab, dropout=0.1):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, width)
        self.wpe = torch.nn.Embedding(context, width)
        self.drop = torch.nn.Dropout(dropout)
        self.h = torch.nn.ModuleList(Block(width, heads, dropout) for _ in range(layers))
        self.ln_f = torch.nn.LayerNorm(width)
        for name, p in self.named_parameters():
            if name.endswith("bias"):
                torch.nn.init.zeros_(p)
            elif "ln_" in name:
                torch.nn.init.ones_(p)
            else:
                torch.nn.init.normal_(p, 0, 0.02)

    def forward(self, ids, cache=None):
        past = 0 if cache is None or cache[0][0] is None else cache[0][0].shape[2]
        pos = torch.arange(past, past + ids.shape[1])
        x = self.drop(self.wte(ids) + self.wpe(pos)[None])
        for i, block in enumerate(self.h):
            x = block(x, None if cache is None else cache[i])
        return F.linear(self.ln_f(x), self.wte.weight)


def lm_loss(model, ids):
    logits = model(ids[:, :-1])
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


def train_epoch(model, data, batch, lr, warmup):
    decay = [p for n, p in model.named_parameters() if "bias" not in n and "ln_" not in n]
    no_decay = [p for n, p in model.named_parameters() if "bias" in n or "ln_" in n]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.01},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr)
    n = data.shape[0]
    total = (n + batch - 1) // batch
    order = torch.randperm(n)
    model.train()
    for step, start in enumerate(range(0, n, batch), 1):
        factor = step / warmup if step <= warmup else max(0.0, (total - step + 1) / max(total - warmup, 1))
        for group in opt.param_groups:
            group["lr"] = lr * factor
        opt.zero_grad()
        loss = lm_loss(model, data[order[start:start + batch]])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        loss.item()


@torch.no_grad()
def token_losses(model, data, batch):
    model.eval()
    out = []
    for start in range(0, data.shape[0], batch):
        ids = data[start:start + batch]
        logits = model(ids[:, :-1])
        out.append(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                                   reduction="none").view(ids.shape[0], -1))
    return torch.cat(out)


def sample_next(logits, top_k, uniform):
    kth = logits.topk(top_k, -1).values[:, -1:]
    logits = logits.masked_fill(logits < kth, float("-inf"))
    sorted_logits, order = logits.sort(-1, descending=True)
    cdf = torch.softmax(sorted_logits, -1).cumsum(-1)
    pick = torch.searchsorted(cdf, (uniform[:, None] * cdf[:, -1:]).contiguous(), right=True)
    return order.gather(1, pick.clamp_max(logits.shape[-1] - 1))


@torch.no_grad()
def generate(model, prompts, new_tokens, use_cache, layers, top_k=200):
    model.eval()
    cache = [[None, None] for _ in range(layers)] if use_cache else None
    sequence, next_input, out = prompts, prompts, []
    for _ in range(new_tokens):
        logits = model(next_input, cache) if use_cache else model(sequence)
        token = sample_next(logits[:, -1], top_k, torch.rand(prompts.shape[0], device=prompts.device))
        out.append(token)
        sequence = torch.cat([sequence, token], 1)
        next_input = token
    return torch.cat(out, 1)


def main():
    p = argparse.ArgumentParser()
    for name, default in [("layers", 2), ("heads", 2), ("width", 64), ("vocab", 50257), ("block", 64),
                          ("batch", 16), ("steps", 20), ("new", 64), ("threads", 1), ("repeat", 3)]:
        p.add_argument("--" + name, type=int, default=default)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    device = torch.device(a.device)
    # On a GPU the steps are queued: wait for them before reading the clock.
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    data = torch.randint(0, a.vocab, (a.steps * a.batch, a.block)).to(device)
    prompts = data[:a.batch]
    best = {"train": math.inf, "score": math.inf, "cached": math.inf, "uncached": math.inf}
    for _ in range(a.repeat):
        model = Gpt2(a.layers, a.heads, a.width, a.block + a.new, a.vocab).to(device)
        sync()
        start = time.perf_counter()
        train_epoch(model, data, a.batch, 1e-4, 5)
        sync()
        best["train"] = min(best["train"], time.perf_counter() - start)
        start = time.perf_counter()
        token_losses(model, data, 32)
        sync()
        best["score"] = min(best["score"], time.perf_counter() - start)
        for key, cached in (("cached", True), ("uncached", False)):
            start = time.perf_counter()
            generate(model, prompts, a.new, cached, a.layers)
            sync()
            best[key] = min(best[key], time.perf_counter() - start)
    tokens = a.steps * a.batch * a.block
    generated = a.batch * a.new
    print("implementation Python")
    print(f"train_tokens_per_s {tokens / best['train']:.1f}")
    print(f"score_tokens_per_s {tokens / best['score']:.1f}")
    print(f"generate_cached_tokens_per_s {generated / best['cached']:.1f}")
    print(f"generate_uncached_tokens_per_s {generated / best['uncached']:.1f}")


if __name__ == "__main__":
    main()
