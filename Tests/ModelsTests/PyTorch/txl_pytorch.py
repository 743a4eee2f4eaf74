#!/usr/bin/env python3
"""Runs a Transformer-XL state dict written by `cadenza export --to txl-pytorch` in PyTorch.

Builds the authors' model (kimiyoung/transformer-xl, `pytorch/mem_transformer.py`, given with
--authors DIR) or Hugging Face's port of it (`transformers` 4.44's deprecated TransfoXL, the
default), loads the state dict strictly, reads token segments with memory in evaluation mode,
and writes the log-probabilities and the model's own state dict, under the authors' names,
for `cadenza import`. Used by Tests/ModelsTests/TransformerXLPyTorchTests.swift; see
docs/training.md, "Models from and to PyTorch".

usage: txl_pytorch.py --state-dict S --args A --tokens T --segment-length N --segments K
                      [--eval-memory M] --logp OUT --state-dict-out BACK [--authors DIR]
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file


def authors_model(folder, a, memory):
    sys.path[:0] = [folder, folder + "/utils"]
    # Two shims for torch 2 without editing the authors' 2019 code: its utils read the CUDA
    # version at import (for a branch left commented out), which CPU torch lacks, and its
    # attention masks are uint8, which masked_fill now refuses; as bool they mean the same.
    if torch.version.cuda is None:
        torch.version.cuda = "0.0"
    torch.Tensor.byte = lambda self, *args, **kwargs: self.bool()
    from mem_transformer import MemTransformerLM

    model = MemTransformerLM(
        a["n_token"], a["n_layer"], a["n_head"], a["d_model"], a["d_head"], a["d_inner"],
        dropout=0.0, dropatt=0.0, tie_weight=True, d_embed=a["d_embed"], div_val=1,
        tie_projs=[False], pre_lnorm=a["pre_lnorm"], tgt_len=a["tgt_len"], ext_len=0,
        mem_len=memory, cutoffs=[], same_length=a["same_length"], attn_type=0,
        clamp_len=a["clamp_len"])

    def names(name):  # the authors' names are the state dict's own
        return [name]

    def set_memory(m):
        model.reset_length(a["tgt_len"], 0, m)

    def step(tokens, mems):  # tokens [B, T]; the authors' code is time-major
        if mems is None:
            mems = model.init_mems()
        hidden, mems = model._forward(tokens.t().contiguous(), mems=mems)
        logits = F.linear(hidden, model.crit.out_layers[0].weight, model.crit.out_layers[0].bias)
        return F.log_softmax(logits, dim=-1).transpose(0, 1), mems

    return model, names, set_memory, step


def huggingface_model(a, memory):
    # A shim for the port's `arange(...).type_as(dtype=...)`, which torch 2.13 no longer takes.
    type_as = torch.Tensor.type_as
    torch.Tensor.type_as = lambda self, other=None, dtype=None: (
        self.to(dtype) if other is None else type_as(self, other))
    from transformers.models.deprecated.transfo_xl.configuration_transfo_xl import TransfoXLConfig
    from transformers.models.deprecated.transfo_xl.modeling_transfo_xl import TransfoXLLMHeadModel

    config = TransfoXLConfig(
        vocab_size=a["n_token"], cutoffs=[], d_model=a["d_model"], d_embed=a["d_embed"],
        n_head=a["n_head"], d_head=a["d_head"], d_inner=a["d_inner"], div_val=1,
        pre_lnorm=a["pre_lnorm"], n_layer=a["n_layer"], mem_len=memory,
        clamp_len=a["clamp_len"], same_length=a["same_length"], attn_type=0, sample_softmax=-1,
        adaptive=True, dropout=0.0, dropatt=0.0, untie_r=False, tie_word_embeddings=True)
    model = TransfoXLLMHeadModel(config)

    def names(name):
        # The port keeps the authors' names under `transformer.`, and holds the shared
        # r_w_bias and r_r_bias in every layer too.
        if name.startswith("crit."):
            return [name]
        if name in ("r_w_bias", "r_r_bias"):
            return ["transformer." + name] + [
                f"transformer.layers.{i}.dec_attn.{name}" for i in range(a["n_layer"])]
        return ["transformer." + name]

    def set_memory(m):
        model.transformer.reset_memory_length(m)

    def step(tokens, mems):
        # The port starts from mem_len rows of zeros; the authors' code, from none.
        if mems is None:
            mems = [torch.empty(0, tokens.size(0), a["d_model"]) for _ in range(a["n_layer"])]
        out = model(input_ids=tokens, mems=mems)
        return out.prediction_scores, out.mems

    return model, names, set_memory, step


def main():
    p = argparse.ArgumentParser()
    for name in ["--state-dict", "--args", "--tokens", "--logp", "--state-dict-out"]:
        p.add_argument(name, required=True)
    p.add_argument("--segment-length", type=int, required=True)
    p.add_argument("--segments", type=int, required=True)
    p.add_argument("--eval-memory", type=int, action="append", default=[])
    p.add_argument("--authors")
    o = p.parse_args()
    torch.manual_seed(0)
    a = json.load(open(o.args))
    streams = torch.tensor(json.load(open(o.tokens))["streams"], dtype=torch.long)
    if o.authors:
        model, names, set_memory, step = authors_model(o.authors, a, a["mem_len"])
    else:
        model, names, set_memory, step = huggingface_model(a, a["mem_len"])
    exported = load_file(o.state_dict)
    state = {name: tensor for key, tensor in exported.items() for name in names(key)}
    model.load_state_dict(state, strict=True)
    model.eval()

    out = {}
    with torch.no_grad():
        for memory in [a["mem_len"]] + o.eval_memory:
            set_memory(memory)
            prefix = "" if memory == a["mem_len"] else f"eval_mem{memory}."
            mems = None
            for s in range(o.segments):
                tokens = streams[:, s * o.segment_length:(s + 1) * o.segment_length]
                logp, mems = step(tokens, mems)
                out[f"{prefix}segment{s}.logp"] = logp.float().contiguous()
    save_file(out, o.logp)
    # The model's own state dict, each tensor under the authors' name (a copy held under two
    # names must hold the same values).
    own = model.state_dict()
    back = {}
    for key in exported:
        copies = [own[name] for name in names(key)]
        assert all(torch.equal(copies[0], c) for c in copies), key
        back[key] = copies[0].detach().float().contiguous().clone()
    assert len(own) == sum(len(names(k)) for k in exported), sorted(own)
    save_file(back, o.state_dict_out)
    print(f"{'authors' if o.authors else 'huggingface'}: {len(state)} tensors loaded strictly, "
          f"{len(out)} log-probability tensors written")


if __name__ == "__main__":
    main()
