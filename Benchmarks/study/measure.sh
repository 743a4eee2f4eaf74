#!/usr/bin/env bash
# Issue 21's measures of one trained run (long.sh), written to OUT/<name>/:
#   test-*.json    NLL on the whole test split by position in the piece (eval --by-position), one
#                  file per reading: Transformer-XL at memory 0, 128, 512, 1024 and 2048
#                  (test-mem0.json ...); GPT-2 in windows of 256, 128 apart (test-window256.json:
#                  every target after a piece's first 256 sees at least 128 tokens)
#   pieces/        50 generated pieces of 32 bars (seeds 1000...1049), and generate.log (speed)
#   metrics.json   metrics --compare of those pieces against the first 32 bars of the real test
#                  pieces (every metric, the bar-to-bar self-similarity included)
# Usage: Benchmarks/study/measure.sh RUN_FOLDER [OUT]   (OUT default runs/long/results)
# Environment: BIN (default .build/release/cadenza), DATA, CACHE, THREADS (default 2), MEMORIES
# (Transformer-XL's readings, default "0 128 512 1024 2048"; a subset first, the rest later),
# MUSIC (default 1; 0 skips the pieces and their metrics, for a second process reading other
# memories beside the first), GENERATE_FLAGS (more `generate` flags, e.g. --allow-end to write
# pieces as seed 1's were, before End Of Piece was held back until the last bar).
# The CPU it runs on is written to host.txt: speeds compare only within one host.
# A reading or step whose file is already written is skipped, so the script can be run again after
# an interruption and loses at most the reading it was in.
set -euo pipefail
cd "$(dirname "$0")/../.."
run_folder="$1"; name="$(basename "$run_folder")"
out="${2:-runs/long/results}/$name"
BIN="${BIN:-.build/release/cadenza}"
DATA="${DATA:-../shared/data/maestro-asap/maestro-asap.csv}"
CACHE="${CACHE:-runs/token-cache}"
threads=(--threads "${THREADS:-2}")
mkdir -p "$out"
[ -s "$out/host.txt" ] || awk -F': ' '/^model name/ && !n {name=$2; n=1} /^cpu family/ && !f {f=$2}
  /^model\t/ && !m {m=$2} END {print name ", family " f " model " m}' /proc/cpuinfo > "$out/host.txt"
kind=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["kind"])' "$run_folder/latest/model.json")
measure() {  # file name, then eval's reading flags; written through a temporary file
  [ -s "$out/$1" ] && return
  local file="$1"; shift
  "$BIN" eval --checkpoint "$run_folder" --data "$DATA" --split test --max-tokens 0 --cache "$CACHE" --batch 16 \
    --by-position "$@" "${threads[@]}" --json > "$out/$file.part"
  mv "$out/$file.part" "$out/$file"
}
if [ "$kind" = gpt2 ]; then
  measure test-window256.json --window 256 --stride 128
else
  for memory in ${MEMORIES:-0 128 512 1024 2048}; do measure "test-mem$memory.json" --mem-len "$memory"; done
fi
if [ "${MUSIC:-1}" = 0 ]; then echo "wrote $out (readings only)"; exit 0; fi
if [ ! -s "$out/generate.log" ]; then
  rm -rf "$out/pieces"
  # shellcheck disable=SC2086
  "$BIN" generate --checkpoint "$run_folder" --bars 32 --count 50 --seed 1000 --out "$out/pieces" "${threads[@]}" \
    ${GENERATE_FLAGS:-} > "$out/generate.log.part"
  mv "$out/generate.log.part" "$out/generate.log"
fi
[ -s "$out/metrics.json" ] ||
  "$BIN" metrics --compare "$out/pieces" "$DATA" --split-b test --bars 32 --json > "$out/metrics.json"
echo "wrote $out"
