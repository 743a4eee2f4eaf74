#!/usr/bin/env bash
# Issue 21's runs: Transformer-XL `small` and the GPT-2 of the same parameter count
# (gpt2-small-matched.json), 6,000 updates of 2,048 tokens each (12.3 M tokens, about 1.1 passes
# over maestro-asap's train split), warm-up 600 then cosine, at the learning rate the sweep
# (sweep.sh) chose for each, seeds 1 and 2. The two models train side by side, one thread each;
# a run folder that exists is resumed (exactly), so the script can be run again after an
# interruption and carries on where each run stopped.
#
# Usage: TXL_LR=... GPT2_LR=... Benchmarks/study/long.sh [CADENZA_BINARY] [RUNS_DIR] [SEEDS]
#   CADENZA_BINARY  default .build/release/cadenza; use a copy outside the build folder
#   RUNS_DIR        default runs/long: RUNS_DIR/{txl,gpt2}-seed{N} and their logs
#   SEEDS           default "1 2"
# Environment: DATA, CACHE as in train.sh; NICE (default 0); MODELS (default "txl gpt2": which
# of the two to run, for a machine with one free core).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
bin="${1:-.build/release/cadenza}"
runs="${2:-runs/long}"
seeds="${3:-1 2}"
: "${TXL_LR:?set TXL_LR to the sweep's choice}" "${GPT2_LR:?set GPT2_LR to the sweep's choice}"
data="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
cache="${CACHE:-runs/token-cache}"
mkdir -p "$runs"
run() {  # name, seed, then train's own flags
  local out="$runs/$1" seed="$2"; shift 2
  if [ -d "$out/latest" ] || [ -d "$out/.latest.old" ]; then
    nice -n "${NICE:-0}" "$bin" train --resume "$out" --threads 1 >> "$out.log" 2>&1
  else
    nice -n "${NICE:-0}" "$bin" train --data "$data" --steps 6000 --warmup 600 --threads 1 --eval-every 250 \
      --eval-tokens 131072 --save-every 50 --cache "$cache" --seed "$seed" "$@" --out "$out" > "$out.log" 2>&1
  fi
}
# Each model runs its seeds in turn, the two models side by side, so neither core waits for the
# slower model to finish a seed.
models="${MODELS:-txl gpt2}"
[[ " $models " == *" txl "* ]] && (for seed in $seeds; do
  run "txl-seed$seed" "$seed" --model txl --preset small --lr "$TXL_LR"
done) &
[[ " $models " == *" gpt2 "* ]] && (for seed in $seeds; do
  run "gpt2-seed$seed" "$seed" --model gpt2 --config Benchmarks/study/gpt2-small-matched.json --batch 8 \
      --seg-len 256 --lr "$GPT2_LR"
done) &
wait
