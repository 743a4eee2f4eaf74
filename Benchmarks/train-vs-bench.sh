#!/bin/sh
# The train command's tokens/s beside `cadenza-bench models --phase train` for the same shapes
# (issue 6: within 10 %). Both run in this one invocation, alternating, ROUNDS times; the train
# figure is the median of the per-update rates logged in metrics.jsonl, skipping the first
# two updates (allocation warm-up), so that data loading and checkpoint writes are not counted.
#
# Usage: Benchmarks/train-vs-bench.sh [DATA] [txl|gpt2]
#   env: CADENZA (binary, default .build/release/cadenza), ROUNDS (3), STEPS (12), THREADS (2),
#        BATCH (16), RUNS (scratch folder outside the repo, default /tmp/cadenza-train-bench)
set -eu
DATA=${1:-../shared/data/maestro-asap}
MODEL=${2:-txl}
BIN=${CADENZA:-.build/release/cadenza}
ROUNDS=${ROUNDS:-3}; STEPS=${STEPS:-12}; THREADS=${THREADS:-2}; BATCH=${BATCH:-16}
RUNS=${RUNS:-/tmp/cadenza-train-bench}
case "$MODEL" in txl) BENCH_MODEL=transformer-xl ;; gpt2) BENCH_MODEL=gpt2 ;; *) echo "model must be txl or gpt2" >&2; exit 2 ;; esac
mkdir -p "$RUNS"
VOCAB=368 # the default REMI vocabulary (cadenza train uses it unless --tokenizer-config says otherwise)

echo "train vs bench models: $MODEL small, batch $BATCH, $THREADS threads, $ROUNDS rounds, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores"
for round in $(seq 1 "$ROUNDS"); do
    bench=$("${BIN}-bench" models --model "$BENCH_MODEL" --phase train --preset small --vocabulary "$VOCAB" \
            --batch "$BATCH" --steps 3 --repeats 3 --threads "$THREADS" | grep RESULT | sed 's/.*tokens_per_s=\([0-9.]*\).*/\1/')
    rm -rf "$RUNS/run"
    "$BIN" train --data "$DATA" --model "$MODEL" --preset small --out "$RUNS/run" --steps "$STEPS" --batch "$BATCH" \
        --eval-every 0 --eval-tokens 2048 --save-every 100000 --threads "$THREADS" --log-every 1 \
        --cache "$RUNS/token-cache" >/dev/null
    train=$(grep '"kind":"train"' "$RUNS/run/metrics.jsonl" | sed 's/.*"tokens_per_second":\([0-9.e+]*\).*/\1/' \
            | tail -n +3 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
    echo "round $round: bench models $bench tokens/s, cadenza train $train tokens/s, ratio $(echo "$train $bench" | awk '{printf "%.3f", $1/$2}')"
done
