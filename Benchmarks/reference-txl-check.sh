#!/usr/bin/env bash
# Cadenza's Transformer-XL against the authors' PyTorch code (see docs/models.md).
# Needs: the `pytorch/` folder of kimiyoung/transformer-xl outside this repository
# (TXL_REFERENCE, default /work/ext/transformer-xl-pytorch) and a venv with torch
# (VENV, default /work/venv-models; created here with `pip install torch==2.13.*` if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-/work/venv-models}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "torch==2.13.*" numpy
fi
OUT=$(mktemp -d)
swift build -c release >/dev/null
.build/release/cadenza-bench models --export-reference "$OUT"
"$VENV/bin/python" Benchmarks/reference-txl-check.py "$OUT"
