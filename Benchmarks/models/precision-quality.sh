#!/usr/bin/env bash
# Issue 19's quality check of mixed precision: Transformer-XL `small` on maestro-asap for 2,000
# updates of 2,048 tokens, once with float32 products and once with bfloat16 products
# (`train --precision bf16`), the same seed, data and schedule (the study's learning rate 5e-4,
# warm-up 200, cosine), validation every 250 updates on 131,072 tokens (always float32). The two
# runs go side by side, one thread each; a run folder that exists is resumed (exactly). Then
# both curves in one chart and the final validation NLLs with their relative difference (the
# goal: within 1 %).
#
# Usage: Benchmarks/models/precision-quality.sh [CADENZA_BINARY] [RUNS_DIR] [CHART]
#   CADENZA_BINARY  default .build/release/cadenza (use a copy outside the build folder)
#   RUNS_DIR        default runs/precision: RUNS_DIR/float32, RUNS_DIR/bf16 and their logs
#   CHART           default docs/images/bf16-quality.png
# Environment: DATA, CACHE as in Benchmarks/study/train.sh; MODELS (default "float32 bf16": which
# runs to train, for a machine with one free core; fp16 for float16 products).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-.build/release/cadenza}"
runs="${2:-runs/precision}"
chart="${3:-docs/images/bf16-quality.png}"
data="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
cache="${CACHE:-runs/token-cache}"
mkdir -p "$runs"
run() {  # precision
  local out="$runs/$1"
  if [ -d "$out/latest" ] || [ -d "$out/.latest.old" ]; then
    "$bin" train --resume "$out" --threads 1 >> "$out.log" 2>&1
  else
    "$bin" train --data "$data" --model txl --preset small --steps 2000 --warmup 200 --lr 5e-4 --threads 1 \
      --eval-every 250 --eval-tokens 131072 --save-every 50 --cache "$cache" --seed 1 --precision "$1" \
      --out "$out" > "$out.log" 2>&1
  fi
}
for precision in ${MODELS:-float32 bf16}; do run "$precision" & done
wait
if [ -f "$runs/float32/metrics.jsonl" ] && [ -f "$runs/bf16/metrics.jsonl" ]; then
  "$bin" plot-loss "$runs/float32" "$runs/bf16" --out "$chart"
  python3 - "$runs" <<'PYEOF'
import json, os, sys
def validation(run):
    with open(os.path.join(sys.argv[1], run, "metrics.jsonl")) as f:
        return [r for r in map(json.loads, filter(str.strip, f)) if r["kind"] == "validation"]
f32, bf16 = validation("float32"), validation("bf16")
for a, b in zip(f32, bf16):
    print(f"update {a['step']:>5}: float32 {a['loss']:.4f}  bf16 {b['loss']:.4f}  "
          f"difference {100 * (b['loss'] - a['loss']) / a['loss']:+.2f} %")
PYEOF
fi
