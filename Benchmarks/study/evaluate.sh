#!/usr/bin/env bash
# Everything docs/results.md reports about the two study runs (issue 8), from their checkpoints:
# loss curves, test-split NLL (Transformer-XL at its training memory and longer ones, also with
# --same-length), generation speed and 50 generated 16-bar pieces per model, and
# `metrics --compare` of those pieces against maestro-asap's real test pieces.
#
# Usage: Benchmarks/study/evaluate.sh [txl|gpt2|all]   (default all; one model per call lets the
#        two run side by side, one thread each)
# Environment (relative paths are taken from the repository root, where the script runs):
#   BIN          the cadenza binary (default .build/release/cadenza)
#   RUNS         the run folders (default runs/study: RUNS/txl, RUNS/gpt2; as train.sh writes them)
#   OUT          where results go (default RUNS/results)
#   DATA         maestro-asap's CSV (default ../shared/data/maestro-asap/maestro-asap.csv)
#   CACHE        token cache (default runs/token-cache)
#   TEST_TOKENS  score N tokens of the test split (default 131072; 0: all of it), sampled as
#                `eval --max-tokens` does: whole pieces in a fixed shuffled order (deterministic).
#   PIECES, BARS generated pieces per model and bars each (default 50, 16); seeds 1000...1049
#   CKPT_TXL, CKPT_GPT2  the checkpoints to evaluate (default: each run folder's best checkpoint;
#                give snapshot folders to compare both models at the same update)
set -euo pipefail
cd "$(dirname "$0")/../.."
which="${1:-all}"
BIN="${BIN:-.build/release/cadenza}"
RUNS="${RUNS:-runs/study}"
OUT="${OUT:-$RUNS/results}"
TEST_TOKENS="${TEST_TOKENS:-131072}"
PIECES="${PIECES:-50}"; BARS="${BARS:-16}"
DATA="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
CACHE="${CACHE:-runs/token-cache}"
mkdir -p "$OUT"

run() { echo "+ $*" >> "$OUT/commands.log"; echo "+ $*" >&2; "$@"; }

study() {
  local model="$1"
  local ckpt="$RUNS/$model"
  run "$BIN" plot-loss "$ckpt" --out "$OUT/$model-loss.png"
  if [ "$model" = txl ]; then ckpt="${CKPT_TXL:-$ckpt}"; else ckpt="${CKPT_GPT2:-$ckpt}"; fi
  if [ "$model" = txl ]; then
    run "$BIN" eval --checkpoint "$ckpt" --data "$DATA" --split test --max-tokens "$TEST_TOKENS" --cache "$CACHE" \
      --mem-len 128 256 512 1024 --plot "$OUT/txl-memory.png" --json > "$OUT/txl-test.json"
    run "$BIN" eval --checkpoint "$ckpt" --data "$DATA" --split test --max-tokens "$TEST_TOKENS" --cache "$CACHE" \
      --mem-len 128 256 512 1024 --same-length --plot "$OUT/txl-memory-same-length.png" --json > "$OUT/txl-test-same-length.json"
  else
    run "$BIN" eval --checkpoint "$ckpt" --data "$DATA" --split test --max-tokens "$TEST_TOKENS" --cache "$CACHE" \
      --json > "$OUT/gpt2-test.json"
  fi
  rm -rf "$OUT/$model-pieces"
  run "$BIN" generate --checkpoint "$ckpt" --bars "$BARS" --count "$PIECES" --seed 1000 --out "$OUT/$model-pieces" \
    > "$OUT/$model-generate.log"
  run "$BIN" metrics --compare "$OUT/$model-pieces" "$DATA" --split-b test > "$OUT/$model-metrics.txt"
  run "$BIN" metrics --compare "$OUT/$model-pieces" "$DATA" --split-b test --json > "$OUT/$model-metrics.json"
}

case "$which" in
  txl|gpt2) study "$which" ;;
  all) study txl; study gpt2 ;;
  *) echo "usage: $0 [txl|gpt2|all]" >&2; exit 2 ;;
esac
