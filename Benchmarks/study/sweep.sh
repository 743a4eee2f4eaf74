#!/usr/bin/env bash
# Issue 21's learning-rate sweep: Transformer-XL `small` and the GPT-2 of the same parameter count
# (Benchmarks/study/gpt2-small-matched.json), each at three peak learning rates, at a reduced
# budget of 1,000 updates of 2,048 tokens (warm-up 100, cosine to 0), seed 1, one run after
# another on all cores (one run on two threads is faster than two side by side on one each).
# Each run's validation NLL (first 131,072 validation tokens) at its last update picks the
# learning rate of the full runs (Benchmarks/study/long.sh).
#
# Usage: Benchmarks/study/sweep.sh [CADENZA_BINARY] [RUNS_DIR]
#   CADENZA_BINARY  default .build/release/cadenza; use a copy outside the build folder so
#                   that builds made meanwhile cannot change it under the runs.
#   RUNS_DIR        default runs/sweep: RUNS_DIR/{txl,gpt2}-lr{LR} and their logs.
# Environment: DATA, CACHE as in train.sh; NICE (default 0) to leave the machine to other work;
#   LRS (default "2.5e-4 5e-4 1e-3") and MODELS (default "txl gpt2") to extend the sweep where the
#   best rate is at its edge (the study ran LRS=2e-3 MODELS=gpt2 after GPT-2 was best at 1e-3).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
bin="${1:-.build/release/cadenza}"
runs="${2:-runs/sweep}"
data="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
cache="${CACHE:-runs/token-cache}"
common=(--data "$data" --steps 1000 --warmup 100 --eval-every 250 --eval-tokens 131072
        --save-every 50 --cache "$cache" --seed 1)
mkdir -p "$runs"
run() {  # name, then train's own flags; resumes a run that was stopped
  local out="$runs/$1"; shift
  if [ -f "$out/latest/state.json" ] || [ -d "$out/latest" ]; then
    nice -n "${NICE:-0}" "$bin" train --resume "$out" >> "$out.log" 2>&1
  else
    nice -n "${NICE:-0}" "$bin" train "${common[@]}" "$@" --out "$out" > "$out.log" 2>&1
  fi
}
for lr in ${LRS:-2.5e-4 5e-4 1e-3}; do
  for model in ${MODELS:-txl gpt2}; do
    if [ "$model" = txl ]; then
      run "txl-lr$lr" --model txl --preset small --lr "$lr"
    else
      run "gpt2-lr$lr" --model gpt2 --config Benchmarks/study/gpt2-small-matched.json --batch 8 \
          --seg-len 256 --lr "$lr"
    fi
  done
done
