"""The reference check (issue 5): a tiny Transformer-XL checkpoint saved by Cadenza loads into the
authors' PyTorch MemTransformerLM unchanged, and both give the same log-probabilities segment
by segment with memory, within 1e-4. Run it with Benchmarks/reference-txl-check.sh.

Usage: python reference-txl-check.py DIR   (DIR written by `cadenza-bench models --export-reference DIR`)
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "models"))
from torch_common import read_safetensors, reference_model  # noqa: E402

directory = sys.argv[1]
weights, metadata = read_safetensors(os.path.join(directory, "model.safetensors"))
config = json.loads(metadata["config"])
cadenza, _ = read_safetensors(os.path.join(directory, "cadenza.safetensors"))

model = reference_model(config).double()
missing, unexpected = model.load_state_dict({k: v.double() for k, v in weights.items()}, strict=False)
# The tied output weight and the sinusoid frequencies are not stored; nothing else may be missing.
assert set(missing) <= {"crit.out_layers.0.weight", "pos_emb.inv_freq"}, missing
assert not unexpected, unexpected
assert model.crit.out_layers[0].weight is model.word_emb.emb_layers[0].weight
model.eval()

tokens = cadenza["tokens"].long()  # [B, S * T]
T = config["tgt_len"]
mems = model.init_mems()
worst_overall = 0.0
with torch.no_grad():
    for s in range(tokens.shape[1] // T):
        data = tokens[:, s * T:(s + 1) * T].t().contiguous()  # the reference is time-major
        hidden, mems = model._forward(data, mems=mems)
        logits = F.linear(hidden, model.word_emb.emb_layers[0].weight, model.crit.out_layers[0].bias)
        logp = F.log_softmax(logits, dim=-1).transpose(0, 1)  # [B, T, V]
        worst = (logp - cadenza[f"segment{s}.logp"].double()).abs().max().item()
        worst_overall = max(worst_overall, worst)
        print(f"segment {s}: memory {mems[0].shape[0]} rows, max |logp difference| = {worst:.2e}")
print(f"torch {torch.__version__}; largest difference {worst_overall:.2e} (tolerance 1e-4):",
      "PASS" if worst_overall <= 1e-4 else "FAIL")
sys.exit(0 if worst_overall <= 1e-4 else 1)
