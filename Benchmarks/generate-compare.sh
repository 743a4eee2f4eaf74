#!/usr/bin/env bash
# Batch-1 generation speed, Cadenza against PyTorch, in one run (docs/benchmarks.md, "Generation").
#
# Cadenza: `cadenza-bench generate` (the whole generation path: model step, sampler, grammar
# mask) on the `small` preset with random weights, Transformer-XL at memory 128, 512 and 2048,
# GPT-2 with its KV cache. PyTorch: the models layer's baseline (Benchmarks/models/torch_bench.py
# --phase generate: the authors' MemTransformerLM stepping T = 1 over its memory, and GPT-2
# with a KV cache), 2 threads, same shapes and vocabulary; GPT-2 at the faster of PyTorch's two
# OpenMP wait policies each round. Both sides run alternately, ROUNDS
# times, so that load on the shared machine hits both; each prints its median over REPEATS.
#
# Cadenza runs once per precision per round: decoders reading the weights in float32, float16, int8
# (what `cadenza generate` uses by default) and int4 (`--precision int4`: a model's default where its own measurement chose it, else by hand).
#
# Usage: Benchmarks/generate-compare.sh [ROUNDS] [TOKENS] [REPEATS] [THREADS]
#   VENV           venv with torch (default Benchmarks/.venv-models, ignored by git; created with
#                  `pip install "torch==2.13.*" numpy` if missing, as Benchmarks/models/compare.sh does)
#   PYTHON         python with torch (default VENV/bin/python)
#   TORCH_BENCH    the baseline script (default Benchmarks/models/torch_bench.py)
#   PRECISIONS     Cadenza's decoder precisions to run (default "float32 float16 int8 int4")
#   TXL_REFERENCE  the authors' pytorch/ folder (default Benchmarks/vendor/transformer-xl/pytorch;
#                  see Benchmarks/models/torch_common.py)
# Output goes to stdout; the current figures are kept in Benchmarks/generate-results.txt
# (`Benchmarks/generate-compare.sh 3 256 3 2 | tee Benchmarks/generate-results.txt`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; TOKENS=${2:-256}; REPEATS=${3:-3}; THREADS=${4:-2}
VENV=${VENV:-$PWD/Benchmarks/.venv-models}
if [ -z "${PYTHON:-}" ] && [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "torch==2.13.*" numpy
fi
PYTHON=${PYTHON:-$VENV/bin/python}
TORCH_BENCH=${TORCH_BENCH:-Benchmarks/models/torch_bench.py}
VOCAB=368   # the default REMI vocabulary
PRECISIONS=${PRECISIONS:-float32 float16 int8 int4}
. Benchmarks/models/torch-best.sh
swift build -c release >/dev/null
CADENZA=.build/release/cadenza
echo "# Benchmarks/generate-compare.sh $ROUNDS $TOKENS $REPEATS $THREADS, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
$CADENZA doctor --no-probe | grep -E '^CPU ' | sed 's/^/# /'   # the CPU, its family and core (the doctor's line)
for round in $(seq "$ROUNDS"); do
  echo "# round $round ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))"
  for precision in $PRECISIONS; do
    ${CADENZA}-bench generate --preset small --memories 128 512 2048 --tokens "$TOKENS" --repeats "$REPEATS" --threads "$THREADS" \
      --precision $precision | grep RESULT | sed "s/^/cadenza $precision /"
  done
  for mem in 128 512 2048; do
    "$PYTHON" "$TORCH_BENCH" --model transformer-xl --phase generate --generation-memory "$mem" \
      --vocabulary $VOCAB --generate-tokens "$TOKENS" --repeats "$REPEATS" --threads "$THREADS" | grep RESULT | sed "s/^/torch mem=$mem /"
  done
  # GPT-2, where the ratio is closest to its goal, at PyTorch's best (models/torch-best.sh); each
  # policy's figure is kept as a comment.
  policies=$(mktemp)
  bestline=$(torch_best "$PYTHON" "$TORCH_BENCH" --model gpt2 --phase generate --vocabulary $VOCAB \
    --generate-tokens 128 --repeats "$REPEATS" --threads "$THREADS" 2>"$policies")
  sed 's/^/# /' "$policies"; rm -f "$policies"
  echo "torch window=256 $bestline"
done
