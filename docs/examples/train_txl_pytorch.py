#!/usr/bin/env python3
"""Trains the authors' Transformer-XL (kimiyoung/transformer-xl, `pytorch/`) on the token
streams `cadenza tokenize --format npy` wrote, and saves it for `cadenza import`.

The model is Cadenza's `small` preset (6 layers, d_model 256, 8 heads of 32, d_inner 1024,
segment 128, memory 128, dropout 0.1) and the recipe Cadenza's own (Adam, lr 2.5e-4, warm-up
then cosine, clip 0.25, 16 streams), read the way the authors' train.py reads a corpus
(`LMOrderedIterator`). On a GPU pass --device cuda. docs/training.md, "The round trip".

usage: train_txl_pytorch.py --streams DIR --authors TRANSFORMER_XL/pytorch --steps N
                            [--device cpu|cuda] --out FOLDER
"""
import argparse
import json
import math
import os
import sys
import time

import numpy
import torch
from safetensors.torch import save_file

p = argparse.ArgumentParser()
p.add_argument("--streams", required=True, help="the folder of cadenza tokenize --format npy")
p.add_argument("--authors", required=True, help="the pytorch/ folder of kimiyoung/transformer-xl")
p.add_argument("--steps", type=int, default=16000)
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
p.add_argument("--out", required=True)
o = p.parse_args()

sys.path[:0] = [o.authors, os.path.join(o.authors, "utils")]
if torch.version.cuda is None:  # the authors' utils read it at import; CPU builds of torch have none
    torch.version.cuda = "0.0"
torch.Tensor.byte = lambda self, *a, **k: self.bool()  # their uint8 masks, which torch 2 refuses
from data_utils import LMOrderedIterator  # noqa: E402
from mem_transformer import MemTransformerLM  # noqa: E402

torch.manual_seed(1)
n_token = len(json.load(open(os.path.join(o.streams, "vocab.json")))["tokens"])
args = dict(n_token=n_token, n_layer=6, n_head=8, d_model=256, d_head=32, d_inner=1024, d_embed=256,
            div_val=1, tie_weight=True, pre_lnorm=False, attn_type=0, adaptive=False, tgt_len=128,
            mem_len=128, ext_len=0, same_length=False, clamp_len=-1, dropout=0.1, dropatt=0.0)
model = MemTransformerLM(
    n_token, 6, 8, 256, 32, 1024, 0.1, 0.0, tie_weight=True, d_embed=256, div_val=1,
    tgt_len=128, ext_len=0, mem_len=128, cutoffs=[], same_length=False, attn_type=0,
    clamp_len=-1).to(o.device)
# The authors' train.py initialisation (`weights_init`, --init normal --init_std 0.02): the class
# alone leaves r_w_bias and r_r_bias uninitialised.
for name, parameter in model.named_parameters():
    if parameter.dim() >= 2 or name in ("r_w_bias", "r_r_bias"):
        torch.nn.init.normal_(parameter, 0.0, 0.02)
    elif name.endswith("layer_norm.weight"):
        torch.nn.init.normal_(parameter, 1.0, 0.02)
    else:
        torch.nn.init.zeros_(parameter)


def load(split):
    return torch.from_numpy(numpy.load(os.path.join(o.streams, f"{split}.npy")).astype("int64"))


train = LMOrderedIterator(load("train"), bsz=16, bptt=128, device=o.device)
optimizer = torch.optim.Adam(model.parameters(), lr=2.5e-4)
warmup = min(1000, o.steps // 10)
schedule = torch.optim.lr_scheduler.LambdaLR(
    optimizer, lambda s: (s + 1) / warmup if s < warmup
    else 0.5 * (1 + math.cos(math.pi * (s - warmup) / max(1, o.steps - warmup))))

step, start = 0, time.time()
model.train()
while step < o.steps:
    mems = tuple()
    for data, target, _ in train.get_fixlen_iter():
        ret = model(data, target, *mems)
        loss, mems = ret[0].float().mean(), ret[1:]
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        optimizer.step()
        schedule.step()
        step += 1
        if step % 10 == 0 or step == o.steps:
            print(f"step {step}/{o.steps}  loss {loss.item():.4f}  {step * 2048 / (time.time() - start):.0f} tok/s",
                  flush=True)
        if step == o.steps:
            break

# Validation NLL on the first 65,536 validation tokens, 16 streams, memory carried.
model.eval()
valid = LMOrderedIterator(load("validation")[:65537], bsz=16, bptt=128, device=o.device)
total, count, mems = 0.0, 0, tuple()
with torch.no_grad():
    for data, target, _ in valid.get_fixlen_iter():
        ret = model(data, target, *mems)
        total, count, mems = total + ret[0].float().sum().item(), count + target.numel(), ret[1:]
print(f"validation NLL {total / count:.4f} nats/token ({count} tokens)")

os.makedirs(o.out, exist_ok=True)
# The tied output weight shares the embedding's storage, which safetensors refuses; Cadenza
# does not need it (cadenza export writes it back).
state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if k != "crit.out_layers.0.weight"}
save_file(state, os.path.join(o.out, "model.safetensors"))
json.dump(args, open(os.path.join(o.out, "args.json"), "w"), indent=2)
print(f"saved {o.out}/model.safetensors and args.json")
