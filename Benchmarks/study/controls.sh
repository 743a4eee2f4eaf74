#!/usr/bin/env bash
# The bundled model with control tokens, as a recipe (docs/control.md): fine-tune the plain
# bundled model (the one Benchmarks/study/bundle.sh trains) with --controls, then twice more for
# infilling (more examples; then the bridge, --infill-bridge 1), export the last in float16
# into Sources/cadenza/Resources/Pretrained, measure the figures the README, docs/results.md and
# PretrainedModelTests quote, run `cadenza-bench controls`, and draw the README's piano rolls.
#
# Usage: Benchmarks/study/controls.sh BASE [RUN]
#
#   BASE  the plain model to fine-tune: a model folder, checkpoint or run folder (for instance
#         runs/bundled-txl from bundle.sh).
#   RUN   the fine-tuning run folder (default runs/controls-txl; runs/ is ignored by git). If it
#         does not exist, it is trained first (2,800 updates took about 35 min on 2 cores):
#           cadenza train --data DATA --init-from BASE --controls --mem-len 256 --steps 2800
#             --lr 1e-4 --warmup 200 --eval-every 1400 --eval-tokens 32768 --save-every 200 --seed 1
#             --out RUN
#
# Environment: DATA, OUT (default runs/controls-figures), BIN, BENCH (the cadenza-bench binary),
# TEST_TOKENS, as in bundle.sh; INFILL and BRIDGE, the two infilling run folders (default
# RUN-infill and RUN-bridge), each trained when absent.
set -euo pipefail
cd "$(dirname "$0")/../.."
BASE="$1"
RUN="${2:-runs/controls-txl}"
DATA="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
OUT="${OUT:-runs/controls-figures}"
BIN="${BIN:-.build/release/cadenza}"
BENCH="${BENCH:-.build/release/cadenza-bench}"
PRE=Sources/cadenza/Resources/Pretrained
mkdir -p "$OUT" docs/images
set -x
[ -x "$BIN" ] || swift build -c release --product cadenza
[ -x "$BENCH" ] || swift build -c release --product cadenza-bench
if [ ! -e "$RUN" ]; then
  "$BIN" train --data "$DATA" --init-from "$BASE" --controls --mem-len 256 --steps 2800 --lr 1e-4 --warmup 200 \
    --eval-every 1400 --eval-tokens 32768 --save-every 200 --seed 1 --out "$RUN"
fi
# Two more fine-tunes for infilling (docs/control.md, "Infilling"): three times as many
# infilling examples, then the bridge (the bar before the gap restated after Infill_Middle).
# The first took 45.6 min on 1 thread beside other work, the second 18.3 min on 2 threads.
INFILL="${INFILL:-$RUN-infill}"
BRIDGE="${BRIDGE:-$RUN-bridge}"
if [ ! -e "$INFILL" ]; then
  "$BIN" train --data "$DATA" --init-from "$RUN/best" --infill-every 3 --mem-len 256 --steps 2000 --lr 1e-4 \
    --warmup 100 --eval-every 1000 --eval-tokens 32768 --save-every 200 --seed 2 --out "$INFILL"
fi
if [ ! -e "$BRIDGE" ]; then
  "$BIN" train --data "$DATA" --init-from "$INFILL/best" --infill-bridge 1 --infill-every 3 --mem-len 256 \
    --steps 1500 --lr 1e-4 --warmup 100 --eval-every 1500 --eval-tokens 32768 --save-every 250 --seed 3 --out "$BRIDGE"
fi
"$BIN" plot-loss "$RUN" --out docs/images/controls-loss.png
# The plain continuation, before and after, on the same test sample as bundle.sh.
"$BIN" eval --checkpoint "$BASE" --data "$DATA" --split test --max-tokens "${TEST_TOKENS:-131072}" --mem-len 128 \
  --json > "$OUT/test-before.json"
"$BIN" export --checkpoint "$BRIDGE" --float16 --out "$PRE"
"$BIN" eval --checkpoint "$PRE" --data "$DATA" --split test --max-tokens "${TEST_TOKENS:-131072}" --mem-len 128 \
  --json > "$OUT/test.json"
"$BIN" eval --checkpoint "$PRE" --data "$DATA" --split validation --batch 1 --max-tokens 4096 --mem-len 128 \
  --json > "$OUT/check.json"
# The three tables of docs/results.md, "Control".
# Infilling at the memory `generate --infill` writes with; the rest at 512.
"$BENCH" controls --model "$PRE" --data "$DATA" --part infill --pieces 40 --mem-len 1024 | tee "$OUT/controls.md"
"$BENCH" controls --model "$PRE" --data "$DATA" --part infill --pieces 40 --mem-len 512 | tee -a "$OUT/controls.md"
# The whole test split, up to three gaps per piece (30 min on 2 cores).
"$BENCH" controls --model "$PRE" --data "$DATA" --part infill --pieces 140 --gaps 3 --mem-len 1024 \
  | tee -a "$OUT/controls.md"
"$BENCH" controls --model "$PRE" --data "$DATA" --part chords --part style --part other --pieces 40 --samples 8 \
  | tee -a "$OUT/controls.md"
# The README's examples and their piano rolls (bars 1-12 before and after the infill).
swift build -c release --product cadenza > "$OUT/build.log" 2>&1
SONG="$(dirname "$DATA")/Beethoven/Piano_Sonatas/8-3/Na06M.mid"  # a test-split piece
"$BIN" generate --infill "$SONG" --bars 5-8 --seed 1 --out "$OUT/infilled.mid"
"$BIN" plot "$SONG" --bars 1-12 --out docs/images/infill-before.png
"$BIN" plot "$OUT/infilled.mid" --bars 1-12 --out docs/images/infill-after.png
"$BIN" generate --chords "C:maj G:maj A:min F:maj" --bars 8 --seed 1 --out "$OUT/chords.mid"
"$BIN" plot "$OUT/chords.mid" --out docs/images/chords.png
"$BIN" generate --style chopin --key "A minor" --seed 1 --bars 8 --out "$OUT/style.mid"
"$BIN" plot "$OUT/style.mid" --out docs/images/style-chopin.png
{ time "$BIN" generate --bars 16 --seed 1 --out "$OUT/first.mid" ; } > "$OUT/first.log" 2>&1
"$BIN" info
