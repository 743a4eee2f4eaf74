"""PyTorch baseline for `cadenza-bench models`: the authors' Transformer-XL (MemTransformerLM)
and a GPT-2 written from ../shared/docs/transformer-xl.md, at the same `small` shapes, on CPU
with 2 threads. Prints RESULT lines in the format of the Cadenza command.

Usage: python torch_bench.py --model transformer-xl|gpt2 --phase train|eval|generate [options]
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import peak_rss_mib, reference_model  # noqa: E402


def small_config(kind, vocabulary):
    """Cadenza's `small` preset (ModelConfig.small)."""
    return dict(n_token=vocabulary, n_layer=6, n_head=8, d_model=256, d_head=32, d_inner=1024,
                tgt_len=128, mem_len=128 if kind == "transformer-xl" else 0, dropout=0.1, dropatt=0.0,
                same_length=False, clamp_len=-1, n_positions=256)


class GPT2Block(nn.Module):
    def __init__(self, d, inner, heads, dropout):
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.ln_1, self.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.c_attn, self.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.c_fc, self.mlp_proj = nn.Linear(d, inner), nn.Linear(inner, d)

    def forward(self, x, cache=None):
        B, T, D = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
        if cache is not None:
            if cache[0] is not None:
                k, v = torch.cat([cache[0], k], 2), torch.cat([cache[1], v], 2)
            cache[0], cache[1] = k, v
        y = F.scaled_dot_product_attention(q, k, v, is_causal=T > 1)
        y = y.transpose(1, 2).reshape(B, T, D)
        x = x + F.dropout(self.c_proj(y), self.dropout, self.training)
        h = F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh")
        return x + F.dropout(self.mlp_proj(h), self.dropout, self.training)


class GPT2(nn.Module):
    """Pre-LN GPT-2 with learned positions, GELU (tanh), final LN, output tied, no output bias."""

    def __init__(self, c):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(c["n_token"], c["d_model"]), nn.Embedding(c["n_positions"], c["d_model"])
        self.h = nn.ModuleList(GPT2Block(c["d_model"], c["d_inner"], c["n_head"], c["dropout"]) for _ in range(c["n_layer"]))
        self.ln_f, self.dropout = nn.LayerNorm(c["d_model"]), c["dropout"]
        for name, p in self.named_parameters():
            if p.dim() > 1:
                std = 0.02 / math.sqrt(2 * c["n_layer"]) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0, std)

    def forward(self, idx, caches=None, start=0):
        x = self.wte(idx) + self.wpe(torch.arange(start, start + idx.shape[1]))
        x = F.dropout(x, self.dropout, self.training)
        for i, block in enumerate(self.h):
            x = block(x, None if caches is None else caches[i])
        return F.linear(self.ln_f(x), self.wte.weight)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True, choices=["transformer-xl", "gpt2"])
    parser.add_argument("--phase", required=True, choices=["train", "eval", "generate"])
    parser.add_argument("--vocabulary", type=int, default=300)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--generation-memory", type=int, default=512)
    parser.add_argument("--generate-tokens", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--autocast", choices=["bf16"], help="train/eval under torch.autocast('cpu', bfloat16)")
    a = parser.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    c = small_config(a.model, a.vocabulary)
    T, B, V = c["tgt_len"], a.batch, c["n_token"]
    rates = []

    if a.model == "transformer-xl":
        model = reference_model(c)
        # The reference's weights_init: N(0, 0.02) weights, zero biases, LayerNorm gain N(1, 0.02).
        for name, p in model.named_parameters():
            nn.init.normal_(p, 1.0 if "layer_norm.weight" in name else 0.0, 0.02) if "bias" not in name or name.startswith("r_") \
                else nn.init.zeros_(p)
    else:
        model = GPT2(c)

    if a.phase in ("train", "eval"):
        training = a.phase == "train"
        model.train(training)
        optimizer = torch.optim.Adam(model.parameters(), lr=2.5e-4) if a.model == "transformer-xl" \
            else torch.optim.AdamW(model.parameters(), lr=2.5e-4, betas=(0.9, 0.95))
        clip = 0.25 if a.model == "transformer-xl" else 1.0
        mems = []

        def step():
            nonlocal mems
            data, target = torch.randint(V, (T, B)), torch.randint(V, (T, B))
            autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=a.autocast == "bf16")
            with torch.set_grad_enabled(training), autocast:
                if a.model == "transformer-xl":
                    ret = model(data, target, *mems)
                    loss, mems = ret[0].mean(), ret[1:]
                else:
                    logits = model(data.t())
                    loss = F.cross_entropy(logits.reshape(-1, V), target.t().reshape(-1))
            if training:
                optimizer.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
                optimizer.step()

        step()
        for _ in range(a.repeats):
            start = time.perf_counter()
            for _ in range(a.steps):
                step()
            rates.append(a.steps * B * T / (time.perf_counter() - start))
    else:
        model.eval()
        n = a.generate_tokens
        with torch.no_grad():
            for _ in range(a.repeats):
                if a.model == "transformer-xl":
                    # The reference's own way: memory of generation_memory rows, T = 1 steps.
                    model.reset_length(1, 0, a.generation_memory)
                    _, mems = model._forward(torch.randint(V, (a.generation_memory, 1)), mems=model.init_mems())
                    token = torch.zeros(1, 1, dtype=torch.long)
                    start = time.perf_counter()
                    for _ in range(n):
                        hidden, mems = model._forward(token, mems=mems)
                        logits = F.linear(hidden[-1], model.word_emb.emb_layers[0].weight, model.crit.out_layers[0].bias)
                        token = F.log_softmax(logits, -1).argmax(-1).view(1, 1)
                    rates.append(n / (time.perf_counter() - start))
                else:
                    prefix = max(1, c["n_positions"] - n)
                    caches = [[None, None] for _ in model.h]
                    model(torch.randint(V, (1, prefix)), caches, 0)
                    token = torch.zeros(1, 1, dtype=torch.long)
                    steps = c["n_positions"] - prefix
                    start = time.perf_counter()
                    for i in range(steps):
                        logits = model(token, caches, prefix + i)
                        token = F.log_softmax(logits[:, -1], -1).argmax(-1).view(1, 1)
                    rates.append(steps / (time.perf_counter() - start))
    rates.sort()
    phase = a.phase + ("-bf16" if a.autocast and a.phase != "generate" else "")
    print(f"RESULT model={a.model} phase={phase} tokens_per_s={rates[len(rates) // 2]:.1f} "
          f"min={rates[0]:.1f} max={rates[-1]:.1f} peak_rss_mib={peak_rss_mib()}")


if __name__ == "__main__":
    main()
