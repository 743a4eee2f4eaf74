#!/usr/bin/env bash
# The bundled pop arrangement model, as a recipe: fine-tune the plain piano model (bundle.sh's
# run, 368 ids) on POP909 with instrument tokens, so that MELODY, BRIDGE and PIANO are three
# parts; export its best checkpoint in float16 into Sources/cadenza/Resources/Pop; measure the
# figures README.md quotes and draw the piano rolls it shows.
#
# Usage: Benchmarks/study/pop.sh BASE [RUN]
#
#   BASE  the plain piano model: bundle.sh's run folder, or a model folder exported from it.
#   RUN   the fine-tuning run (default runs/pop); trained first when it does not exist:
#           cadenza train --data DATA --init-from BASE --tokenizer-config Benchmarks/study/pop909-tokenizer.json
#             --steps 5000 --eval-every 1000 --eval-tokens 32768 --save-every 200 --seed 1
#             --validation-ratio 0.1 --test-ratio 0.1 --cache CACHE --out RUN
#
# The tokenizer config reads every track as its own part (POP909's track names as roles) on
# the 4/4 grid: POP909 marks 553 of its songs 1/4, a bar per beat, which would make a
# "bar" of the model a beat of the song (docs/remi.md, "Instruments and meters").
#
# Environment: DATA (default ../shared/data/pop909), OUT (default runs/pop-figures), CACHE
# (default runs/token-cache), BIN (default .build/release/cadenza).
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE="$1"
RUN="${2:-runs/pop}"
DATA="${DATA:-../shared/data/pop909}"
OUT="${OUT:-runs/pop-figures}"
CACHE="${CACHE:-runs/token-cache}"
BIN="${BIN:-.build/release/cadenza}"
POP=Sources/cadenza/Resources/Pop
mkdir -p "$OUT" "$POP" docs/images
set -x
[ -x "$BIN" ] || swift build -c release --product cadenza
if [ ! -e "$RUN" ]; then
  "$BIN" train --data "$DATA" --init-from "$BASE" --tokenizer-config Benchmarks/study/pop909-tokenizer.json \
    --steps 5000 --eval-every 1000 --eval-tokens 32768 --save-every 200 --seed 1 \
    --validation-ratio 0.1 --test-ratio 0.1 --cache "$CACHE" --out "$RUN"
fi
"$BIN" plot-loss "$RUN" --out docs/images/pop-loss.png
"$BIN" export --checkpoint "$RUN" --float16 --out "$POP"
# The test split the run held out (a tenth of the songs, by path hash), all of it.
"$BIN" eval --checkpoint "$POP" --data "$DATA" --split test --validation-ratio 0.1 --test-ratio 0.1 \
  --max-tokens 0 --mem-len 128 --cache "$CACHE" --json > "$OUT/test.json"
# The figure PopModelTests checks: the first 4,096 validation tokens, one stream.
"$BIN" eval --checkpoint "$POP" --data "$DATA" --split validation --validation-ratio 0.1 --test-ratio 0.1 \
  --batch 1 --max-tokens 4096 --mem-len 128 --cache "$CACHE" --json > "$OUT/check.json"
swift build -c release --product cadenza > "$OUT/build.log" 2>&1
{ time "$BIN" generate --model pop --bars 16 --seed 1 --out "$OUT/pop-first.mid" ; } > "$OUT/first.log" 2>&1
for seed in 1 2 3; do
  "$BIN" generate --model pop --bars 16 --seed $seed --out "$OUT/pop-seed-$seed.mid"
  "$BIN" plot "$OUT/pop-seed-$seed.mid" --out "docs/images/pop-seed-$seed.png"
done
"$BIN" inspect "$OUT"/pop-seed-*.mid
