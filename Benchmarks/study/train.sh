#!/usr/bin/env bash
# The study's two training runs (issue 8, issue 6's one-hour run, issue 9's bundled model):
# Transformer-XL `small` and a GPT-2 of the same parameter count (5.22 M; d_inner 1128 instead
# of 1024 makes up for the relative-position weights GPT-2 lacks), the same data (maestro-asap's
# CSV train split) and the same tokens per update (TXL 16 streams x 128, GPT-2 8 windows x 256,
# 2,048 tokens each) and the same number of updates. GPT-2's 256-token window equals the span
# Transformer-XL attends to in training (segment 128 + memory 128).
# Each run uses one thread, so both run side by side on a 2-core machine.
#
# Usage: Benchmarks/study/train.sh [CADENZA_BINARY] [RUNS_DIR] [STEPS]
#   CADENZA_BINARY  default .build/release/cadenza. The study used a copy outside the build
#                   folder (e.g. `cp .build/release/cadenza runs/bin/`), so that builds made while
#                   the runs train cannot change the binary under them.
#   RUNS_DIR        default runs/study (runs/ is ignored by git): RUNS_DIR/txl, RUNS_DIR/gpt2 and
#                   their logs
#   STEPS           default 1250
# Environment: DATA (maestro-asap's CSV, default ../shared/data/maestro-asap/maestro-asap.csv),
#   CACHE (token cache, default runs/token-cache). Relative paths are taken from the repository
#   root, where the script runs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here/../.."
bin="${1:-.build/release/cadenza}"
runs="${2:-runs/study}"
steps="${3:-1250}"
data="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
cache="${CACHE:-runs/token-cache}"
common=(--data "$data" --steps "$steps" --threads 1 --eval-every 50 --eval-tokens 32768
        --save-every 25 --cache "$cache" --seed 1)
mkdir -p "$runs"
set -x
nohup "$bin" train "${common[@]}" --model txl --preset small --out "$runs/txl" > "$runs/txl.log" 2>&1 &
nohup "$bin" train "${common[@]}" --model gpt2 --config Benchmarks/study/gpt2-small-matched.json \
    --batch 8 --seg-len 256 --out "$runs/gpt2" > "$runs/gpt2.log" 2>&1 &
