"""PyTorch baseline for `cadenza-bench kernels`: the same kernels at the same shapes.

Prints one line per kernel, `name<TAB>median_ms<TAB>min_ms`, in the order and with the names
that `cadenza-bench kernels` uses, so the two columns can be set side by side. Transformer-XL
attention is written as the authors' reference (kimiyoung/transformer-xl,
RelPartialLearnableMultiHeadAttn: time-major einsums, the relative shift, masked_fill,
softmax over keys); the plain attention as Hugging Face's eager GPT-2 attention.

Usage: python Benchmarks/kernels-torch.py [--runs 9] [--threads 2]
Needs torch (CPU build) in the interpreter's environment, e.g. a venv outside the repo.
"""
import argparse
import time

import torch
import torch.nn.functional as F

B, T, M, H, d = 16, 128, 128, 8, 32
D, K = H * d, M + T


def rel_shift(x):
    # The reference's _rel_shift on [T, K, B, H].
    zero_pad = torch.zeros((x.size(0), 1, *x.size()[2:]), device=x.device, dtype=x.dtype)
    x_padded = torch.cat([zero_pad, x], dim=1)
    x_padded = x_padded.view(x.size(1) + 1, x.size(0), *x.size()[2:])
    return x_padded[1:].view_as(x)


def xl_attention(w_heads, r_head_k, r_w_bias, r_r_bias, mask):
    # w_heads [K, B, 3D] (time-major), r_head_k [K, H, d]
    w_head_q, w_head_k, w_head_v = torch.chunk(w_heads, 3, dim=-1)
    w_head_q = w_head_q[-T:]
    w_head_q = w_head_q.view(T, B, H, d)
    w_head_k = w_head_k.view(K, B, H, d)
    w_head_v = w_head_v.view(K, B, H, d)
    rw_head_q = w_head_q + r_w_bias
    AC = torch.einsum('ibnd,jbnd->ijbn', (rw_head_q, w_head_k))
    rr_head_q = w_head_q + r_r_bias
    BD = torch.einsum('ibnd,jnd->ijbn', (rr_head_q, r_head_k))
    BD = rel_shift(BD)
    attn_score = (AC + BD) * (1 / d ** 0.5)
    attn_score = attn_score.masked_fill(mask[:, :, None, None], -float('inf'))
    attn_prob = F.softmax(attn_score, dim=1)
    attn_vec = torch.einsum('ijbn,jbnd->ibnd', (attn_prob, w_head_v))
    return attn_vec.contiguous().view(T, B, D)


def plain_attention(qkv, mask):
    # qkv [B, K, 3D]; queries are the last T rows (memory/KV cache before them).
    q, k, v = qkv.split(D, dim=2)
    q = q[:, -T:].view(B, T, H, d).transpose(1, 2)
    k = k.view(B, K, H, d).transpose(1, 2)
    v = v.view(B, K, H, d).transpose(1, 2)
    w = torch.matmul(q, k.transpose(-1, -2)) * (1 / d ** 0.5)
    w = w.masked_fill(mask, -float('inf'))
    w = F.softmax(w, dim=-1)
    return torch.matmul(w, v).transpose(1, 2).reshape(B, T, D)


def timed(body, runs):
    body()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        body()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2], times[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--runs', type=int, default=9)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    rows = B * T
    results = []

    x = torch.randn(rows, D, requires_grad=True)
    w = torch.randn(D, requires_grad=True)
    b = torch.randn(D, requires_grad=True)
    dy = torch.randn(rows, D)
    results.append((f'layernorm fwd+bwd [{rows}x{D}]',
                    timed(lambda: F.layer_norm(x, (D,), w, b, 1e-5).backward(dy), args.runs)))

    g = torch.randn(rows, 4 * D, requires_grad=True)
    gdy = torch.randn(rows, 4 * D)
    results.append((f'gelu fwd+bwd [{rows}x{4 * D}]',
                    timed(lambda: F.gelu(g, approximate='tanh').backward(gdy), args.runs)))

    s = torch.randn(B * H * T, K, requires_grad=True)
    dp = torch.randn(B * H * T, K)
    results.append((f'softmax fwd+bwd [{B * H * T}x{K}]',
                    timed(lambda: F.softmax(s * 0.17, dim=-1).backward(dp), args.runs)))

    causal = torch.triu(torch.ones(T, K, dtype=torch.bool), diagonal=1 + M)  # True = masked
    w_heads = torch.randn(K, B, 3 * D, requires_grad=True)
    r_head_k = torch.randn(K, H, d, requires_grad=True)
    u = (torch.randn(H, d) * 0.1).requires_grad_()
    v = (torch.randn(H, d) * 0.1).requires_grad_()
    dout = torch.randn(T, B, D)
    with torch.no_grad():
        results.append((f'attention relative (XL) fwd B{B} T{T} M{M} H{H}x{d}',
                        timed(lambda: xl_attention(w_heads, r_head_k, u, v, causal), args.runs)))
    results.append(('attention relative (XL) fwd+bwd',
                    timed(lambda: xl_attention(w_heads, r_head_k, u, v, causal).backward(dout), args.runs)))

    qkv = torch.randn(B, K, 3 * D, requires_grad=True)
    dout2 = torch.randn(B, T, D)
    with torch.no_grad():
        results.append((f'attention plain (GPT-2) fwd B{B} T{T} M{M} H{H}x{d}',
                        timed(lambda: plain_attention(qkv, causal), args.runs)))
    results.append(('attention plain (GPT-2) fwd+bwd',
                    timed(lambda: plain_attention(qkv, causal).backward(dout2), args.runs)))

    # One generation step of the reference attention: batch 1, query 1, 512 memory rows.
    G = 513
    heads1 = torch.randn(G, 1, 3 * D)
    r1 = torch.randn(G, H, d)
    no_mask = torch.zeros(1, G, dtype=torch.bool)

    def steps():
        global T, B, K
        saved = (T, B, K)
        T, B, K = 1, 1, G
        for _ in range(100):
            xl_attention(heads1, r1, u, v, no_mask)
        T, B, K = saved

    with torch.no_grad():
        results.append(('attention XL step T1 M512 x100 (per 100 tokens)', timed(steps, args.runs)))

    for name, (median, minimum) in results:
        print(f'{name}\t{median:.3f}\t{minimum:.3f}', flush=True)


if __name__ == '__main__':
    main()
