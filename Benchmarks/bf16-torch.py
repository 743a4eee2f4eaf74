#!/usr/bin/env python3
"""PyTorch's matmul on the shapes of `cadenza-bench bf16`, float32 and bfloat16 (oneDNN, which
uses AVX-512 BF16 or AMX where the CPU has them), on the threads given; medians of rounds.
usage: python3 Benchmarks/bf16-torch.py [--threads 2] [--runs 5] [--min-seconds 0.2]"""
import argparse
import statistics
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--threads", type=int, default=2)
p.add_argument("--runs", type=int, default=5)
p.add_argument("--min-seconds", type=float, default=0.2)
o = p.parse_args()
torch.set_num_threads(o.threads)
shapes = [(2048, 768, 256, False, True, "qkv forward"), (2048, 256, 768, False, False, "qkv dX"),
          (768, 256, 2048, True, False, "qkv dW"), (2048, 1024, 256, False, True, "ff1 forward"),
          (2048, 256, 1024, False, True, "ff2 forward"), (1024, 256, 2048, True, False, "ff2 dW"),
          (2048, 368, 256, False, True, "logits forward"), (1024, 1024, 1024, False, False, "square")]
print(f"torch {torch.__version__}, {o.threads} threads")
print("shape                         float32 GFLOP/s   bf16 GFLOP/s")
for m, n, k, ta, tb, what in shapes:
    g = torch.Generator().manual_seed(1)
    a = torch.rand((k, m) if ta else (m, k), generator=g) - 0.5
    b = torch.rand((n, k) if tb else (k, n), generator=g) - 0.5
    def rate(x, y):
        x, y = (x.t() if ta else x), (y.t() if tb else y)
        count, start = 0, time.perf_counter()
        while True:
            torch.matmul(x, y)
            count += 1
            if time.perf_counter() - start >= o.min_seconds:
                break
        return 2 * m * n * k * count / (time.perf_counter() - start) / 1e9
    f32, bf16 = [], []
    for _ in range(o.runs):
        f32.append(rate(a, b))
        bf16.append(rate(a.bfloat16(), b.bfloat16()))
    name = f"{m}x{n}x{k}{' Aᵀ' if ta else ''}{' Bᵀ' if tb else ''} {what}"
    print(f"{name:30s}{statistics.median(f32):15.1f} {statistics.median(bf16):14.1f}")
