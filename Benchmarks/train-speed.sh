#!/bin/sh
# Measures `cadenza train` for the long run's shapes (Transformer-XL small, batch 16 x 128,
# memory 128) over STEPS updates and prints the median tokens/s (first two updates skipped)
# and the --steps that fill MINUTES of training, keeping 4 minutes for validation and
# checkpoints. Run it right before launching the long run, on the same binary and load.
#
# Usage: Benchmarks/train-speed.sh [DATA] [MINUTES]
#   env: CADENZA (default .build/release/cadenza), STEPS (12), THREADS (2), BATCH (16),
#        RUNS (scratch folder outside the repo, default /tmp/cadenza-train-speed)
set -eu
DATA=${1:-../shared/data/maestro-asap/maestro-asap.csv}
MINUTES=${2:-65}
BIN=${CADENZA:-.build/release/cadenza}
STEPS=${STEPS:-12}; THREADS=${THREADS:-2}; BATCH=${BATCH:-16}
RUNS=${RUNS:-/tmp/cadenza-train-speed}
mkdir -p "$RUNS"
rm -rf "$RUNS/run"
"$BIN" train --data "$DATA" --model txl --preset small --out "$RUNS/run" --steps "$STEPS" --batch "$BATCH" \
    --eval-every 0 --eval-tokens 2048 --save-every 100000 --threads "$THREADS" --log-every 1 >/dev/null
rate=$(grep '"kind":"train"' "$RUNS/run/metrics.jsonl" | sed 's/.*"tokens_per_second":\([0-9.e+]*\).*/\1/' \
       | tail -n +3 | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
echo "cadenza train: $(printf '%.0f' "$rate") tokens/s (median of updates 3..$STEPS, batch $BATCH x 128, $THREADS threads, $(date -u +%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
echo "$rate $MINUTES $BATCH" | awk '{s = int(($2 - 4) * 60 * $1 / ($3 * 128) / 50 + 0.5) * 50; printf "for %d minutes: --steps %d (about %.1f M tokens)\n", $2, s, s * $3 * 128 / 1e6}'
