#!/usr/bin/env bash
# Issue 19's training comparison with the bfloat16 anchor: Cadenza in float32 and with bfloat16
# products (`--product-precision bf16`, as `train --precision bf16`) against PyTorch in float32
# and under torch.autocast("cpu", dtype=torch.bfloat16), small Transformer-XL and GPT-2, 2
# threads, rounds alternating; PyTorch at the faster of its two OpenMP wait policies each time.
# With PRECISIONS="float32 bf16 fp16", Cadenza also with float16 products (`train --precision
# fp16`; PyTorch is not run again for it: its anchors are the float32 and bfloat16 runs).
# Prints the RESULT lines and, per model, side and precision, the median over rounds.
# Usage: Benchmarks/models/precision.sh [ROUNDS]   (TXL_REFERENCE as compare.sh; torch installed)
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds="${1:-3}"
PY="${PYTHON:-python3}"
. Benchmarks/models/torch-best.sh
log=$(mktemp)
# The CPU, its family and core (the doctor's line; /proc/cpuinfo's model name without a build of it).
.build/release/cadenza doctor --no-probe 2>/dev/null | grep -E '^CPU ' || grep -m1 "model name" /proc/cpuinfo
for round in $(seq "$rounds"); do
  for model in transformer-xl gpt2; do
    for precision in ${PRECISIONS:-float32 bf16}; do
      .build/release/cadenza-bench models --model "$model" --phase train --threads 2 --product-precision $precision \
        | grep RESULT | sed "s/^/cadenza-$precision /" | tee -a "$log"
      [ "$precision" = fp16 ] && continue
      flag=(); [ $precision = bf16 ] && flag=(--autocast bf16)
      bestline=$(OMP_NUM_THREADS=2 torch_best "$PY" Benchmarks/models/torch_bench.py --model "$model" \
        --phase train --threads 2 "${flag[@]}" 2>/dev/null)
      echo "torch-$precision $bestline" | tee -a "$log"
    done
  done
done
echo "medians over $rounds rounds (tokens/s):"
"$PY" - "$log" <<'PYEOF'
import re, statistics, sys
rates = {}
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) RESULT model=(\S+) phase=(\S+) tokens_per_s=([0-9.]+)", line)
    if m: rates.setdefault((m[2], m[3], m[1]), []).append(float(m[4]))
for (model, phase, side), r in sorted(rates.items()):
    print(f"{model:15s} {phase:11s} {side:15s} {statistics.median(r):9.1f}  (rounds: {', '.join(f'{x:.0f}' for x in r)})")
PYEOF
rm -f "$log"
