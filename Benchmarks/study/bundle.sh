#!/usr/bin/env bash
# Issue 9: ship a Transformer-XL checkpoint as the bundled model, measure the README's figures
# and draw three piano rolls of pieces it writes.
# Usage: Benchmarks/study/bundle.sh CHECKPOINT   (a run folder: its best checkpoint, chosen by
#        validation NLL; or a checkpoint/snapshot folder)
set -euo pipefail
cd "$(dirname "$0")/../.."
ckpt="$1"
BIN="${BIN:-.build/release/cadenza}"
OUT="${OUT:-/work/runs/study/bundle}"
DATA="$(pwd)/../shared/data/maestro-asap/maestro-asap.csv"
PRE=Sources/cadenza/Resources/Pretrained
mkdir -p "$OUT" docs/images
set -x
"$BIN" export --checkpoint "$ckpt" --float16 --out "$PRE"
# The figure PretrainedModelTests checks (first 4,096 validation tokens, one stream).
"$BIN" eval --checkpoint "$PRE" --data "$DATA" --split validation --batch 1 --max-tokens 4096 --mem-len 128 \
  --cache /work/runs/token-cache --json > "$OUT/check.json"
# The README's test figure, for the shipped float16 weights (same test sample as evaluate.sh).
"$BIN" eval --checkpoint "$PRE" --data "$DATA" --split test --max-tokens "${TEST_TOKENS:-131072}" --mem-len 128 \
  --cache /work/runs/token-cache --json > "$OUT/test.json"
# The README's first command, after the build (the resource bundle beside the binary is refreshed
# by the build; the source-tree copy is found otherwise).
swift build -c release --product cadenza > "$OUT/build.log" 2>&1
{ time "$BIN" generate --bars 16 --seed 1 --out "$OUT/first.mid" ; } > "$OUT/first.log" 2>&1
for seed in 11 12 13; do
  "$BIN" generate --bars 16 --seed $seed --out "$OUT/bundled-seed-$seed.mid"
  "$BIN" plot "$OUT/bundled-seed-$seed.mid" --out "docs/images/bundled-seed-$seed.png"
done
"$BIN" info
