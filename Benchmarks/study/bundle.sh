#!/usr/bin/env bash
# The bundled model, as a recipe: train the Transformer-XL `small` that `cadenza generate` ships
# with (README.md, "The bundled model"), export its best checkpoint in float16 into
# Sources/cadenza/Resources/Pretrained, measure the figures the README and PretrainedModelTests
# quote, and draw the piano rolls docs/results.md shows (docs/images/bundled-*.png).
#
# Usage: Benchmarks/study/bundle.sh [RUN]
#
#   RUN   the training run folder (default runs/bundled-txl; runs/ is ignored by git).
#         If RUN does not exist, it is trained first with the README's command:
#           cadenza train --data DATA --model txl --preset small --steps STEPS --eval-every 500
#             --eval-tokens 32768 --save-every 100 --seed 1 --cache CACHE --out RUN
#         (16,000 updates took 81.5 min on 2 cores). If training stops, continue it with
#         `cadenza train --resume RUN` and run this script again. An existing RUN is used as it
#         is: a run folder (its best checkpoint by validation NLL) or a checkpoint folder.
#
# Environment (relative paths are taken from the repository root, where the script runs):
#   DATA         maestro-asap's CSV (default ../shared/data/maestro-asap/maestro-asap.csv)
#   OUT          measurements and generated pieces (default runs/bundled-figures)
#   CACHE        token cache shared with the other study scripts (default runs/token-cache)
#   BIN          the cadenza binary (default .build/release/cadenza, built if missing)
#   STEPS        training updates (default 16000, the bundled model's)
#   TEST_TOKENS  test-split tokens scored for the README's test figure (default 131072)
#
# Writes: RUN (if trained here), Sources/cadenza/Resources/Pretrained/{model.safetensors,
# model.json,vocab.json}, docs/images/bundled-loss.png (when RUN is a run folder),
# docs/images/bundled-seed-{11,12,13}.png, and in OUT: check.json (the figure
# PretrainedModelTests checks), test.json, build.log, first.log/first.mid (the README's first
# command, timed), bundled-seed-*.mid. model-card.json is written by hand from these figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUN="${1:-runs/bundled-txl}"
DATA="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
OUT="${OUT:-runs/bundled-figures}"
CACHE="${CACHE:-runs/token-cache}"
BIN="${BIN:-.build/release/cadenza}"
STEPS="${STEPS:-16000}"
PRE=Sources/cadenza/Resources/Pretrained
mkdir -p "$OUT" docs/images
set -x
[ -x "$BIN" ] || swift build -c release --product cadenza
if [ ! -e "$RUN" ]; then
  mkdir -p "$(dirname "$RUN")"
  "$BIN" train --data "$DATA" --model txl --preset small --steps "$STEPS" --eval-every 500 --eval-tokens 32768 \
    --save-every 100 --seed 1 --cache "$CACHE" --out "$RUN"
fi
if [ -f "$RUN/metrics.jsonl" ]; then
  "$BIN" plot-loss "$RUN" --out docs/images/bundled-loss.png
fi
"$BIN" export --checkpoint "$RUN" --float16 --out "$PRE"
# The figure PretrainedModelTests checks (first 4,096 validation tokens, one stream).
"$BIN" eval --checkpoint "$PRE" --data "$DATA" --split validation --batch 1 --max-tokens 4096 --mem-len 128 \
  --cache "$CACHE" --json > "$OUT/check.json"
# The README's test figure, for the shipped float16 weights (same test sample as evaluate.sh).
"$BIN" eval --checkpoint "$PRE" --data "$DATA" --split test --max-tokens "${TEST_TOKENS:-131072}" --mem-len 128 \
  --cache "$CACHE" --json > "$OUT/test.json"
# The README's first command, after the build (the resource bundle beside the binary is refreshed
# by the build; the source-tree copy is found otherwise).
swift build -c release --product cadenza > "$OUT/build.log" 2>&1
{ time "$BIN" generate --bars 16 --seed 1 --out "$OUT/first.mid" ; } > "$OUT/first.log" 2>&1
for seed in 11 12 13; do
  "$BIN" generate --bars 16 --seed $seed --out "$OUT/bundled-seed-$seed.mid"
  "$BIN" plot "$OUT/bundled-seed-$seed.mid" --out "docs/images/bundled-seed-$seed.png"
done
"$BIN" info
