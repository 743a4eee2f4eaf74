"""Shared helpers for the PyTorch side of Cadenza's model benchmarks and reference check.

Nothing here is third-party code: the authors' Transformer-XL is imported from a checkout
that is not part of this repository: TXL_REFERENCE, the `pytorch/` folder of
kimiyoung/transformer-xl on GitHub (default Benchmarks/vendor/transformer-xl/pytorch, ignored by
git: `git clone https://github.com/kimiyoung/transformer-xl Benchmarks/vendor/transformer-xl`).
"""
import json
import os
import struct
import sys

import torch


def import_reference_transformer_xl():
    """Imports MemTransformerLM from the authors' code, unchanged."""
    default = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "vendor",
                           "transformer-xl", "pytorch")
    root = os.environ.get("TXL_REFERENCE", os.path.normpath(default))
    if not os.path.exists(os.path.join(root, "mem_transformer.py")):
        sys.exit(f"no mem_transformer.py in {root}: set TXL_REFERENCE to the pytorch/ folder of "
                 "kimiyoung/transformer-xl, or clone it with `git clone "
                 "https://github.com/kimiyoung/transformer-xl Benchmarks/vendor/transformer-xl`")
    sys.path.insert(0, os.path.join(root, "utils"))
    sys.path.insert(0, root)
    # proj_adaptive_softmax.py parses torch.version.cuda at import; CPU builds have None.
    if torch.version.cuda is None:
        torch.version.cuda = "0.0"
    # The 2019 code masks with uint8 tensors; torch >= 2 wants bool masks. Convert at the call
    # instead of editing the authors' file.
    if not getattr(torch.Tensor.masked_fill, "_cadenza_bool_mask", False):
        original = torch.Tensor.masked_fill

        def masked_fill(self, mask, value):
            return original(self, mask.bool() if mask.dtype == torch.uint8 else mask, value)
        masked_fill._cadenza_bool_mask = True
        torch.Tensor.masked_fill = masked_fill
    from mem_transformer import MemTransformerLM
    return MemTransformerLM


def reference_model(config, dropout=None):
    """The authors' MemTransformerLM for a Cadenza ModelConfig dict (tied output, div_val 1)."""
    MemTransformerLM = import_reference_transformer_xl()
    return MemTransformerLM(
        n_token=config["n_token"], n_layer=config["n_layer"], n_head=config["n_head"],
        d_model=config["d_model"], d_head=config["d_head"], d_inner=config["d_inner"],
        dropout=config["dropout"] if dropout is None else dropout, dropatt=config["dropatt"],
        tie_weight=True, d_embed=config["d_model"], div_val=1, tie_projs=[False], pre_lnorm=False,
        tgt_len=config["tgt_len"], ext_len=0, mem_len=config["mem_len"], cutoffs=[],
        same_length=config["same_length"], attn_type=0, clamp_len=config["clamp_len"])


def read_safetensors(path):
    """(tensors, metadata) of a float32 safetensors file, read with the standard library."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    metadata = header.pop("__metadata__", {})
    tensors = {}
    for name, entry in header.items():
        assert entry["dtype"] == "F32", f"{name}: {entry['dtype']}"
        begin, end = entry["data_offsets"]
        raw = bytearray(data[8 + n + begin:8 + n + end])
        tensors[name] = torch.frombuffer(raw, dtype=torch.float32).reshape(entry["shape"]) if raw else \
            torch.zeros(entry["shape"])
    return tensors, metadata


def peak_rss_mib():
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
