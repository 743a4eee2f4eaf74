#!/usr/bin/env bash
# Cadenza's Transformer-XL against the authors' PyTorch code (see docs/models.md).
# Needs: the `pytorch/` folder of kimiyoung/transformer-xl, not part of this repository
# (TXL_REFERENCE, default Benchmarks/vendor/transformer-xl/pytorch, ignored by git:
# `git clone https://github.com/kimiyoung/transformer-xl Benchmarks/vendor/transformer-xl`)
# and a venv with torch (VENV, default Benchmarks/.venv-models, ignored by git; created here
# with `pip install torch==2.13.*` if absent).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/Benchmarks/.venv-models}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "torch==2.13.*" numpy
fi
OUT=$(mktemp -d)
swift build -c release >/dev/null
.build/release/cadenza-bench models --export-reference "$OUT"
"$VENV/bin/python" Benchmarks/reference-txl-check.py "$OUT"
