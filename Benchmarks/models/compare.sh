#!/usr/bin/env bash
# Cadenza against PyTorch (CPU, 2 threads) on the small Transformer-XL and GPT-2, each workload
# in its own process (so peak memory is per workload), the two sides alternating round by round
# so that both see the same machine load. Prints a markdown table of medians and ratios.
#
# Usage: Benchmarks/models/compare.sh [rounds] [extra `cadenza-bench models` options]
# Needs: the authors' code in TXL_REFERENCE (default Benchmarks/vendor/transformer-xl/pytorch; see
# docs/models.md) and a venv with torch (VENV, default Benchmarks/.venv-models, ignored by git;
# created here if missing).
# Output (stdout): the RESULT lines kept (Cadenza, and PyTorch's faster wait policy per round),
# PyTorch's lines under both policies, then a markdown table of medians and ratios. The current
# figures are kept in Benchmarks/models/results.txt (`Benchmarks/models/compare.sh 3 | tee
# Benchmarks/models/results.txt`; git keeps the earlier ones).
# PyTorch runs each workload twice, with OMP_WAIT_POLICY=ACTIVE (its OpenMP threads spin: fastest
# on a quiet machine, GPT-2 generation 928 against 412 tokens/s passive) and PASSIVE (on a loaded
# machine the spinning threads collapse: 8 against 125 tokens/s), and the table keeps the faster
# of the two each round: we compare against PyTorch at its best.
# Cadenza's generation runs three times: with the decoders' weights in float32 (phase `generate`),
# float16 (`generate-f16`) and int8 (`generate-i8`, what `cadenza generate` uses by default).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
shift || true
VENV=${VENV:-$PWD/Benchmarks/.venv-models}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "torch==2.13.*" numpy
fi
swift build -c release >/dev/null
echo "# Benchmarks/models/compare.sh $ROUNDS${*:+ $*}, started $(date -u '+%Y-%m-%d %H:%M UTC')"
. Benchmarks/models/torch-best.sh
LOG=$(mktemp)
for round in $(seq "$ROUNDS"); do
    for model in transformer-xl gpt2; do
        for phase in train eval generate; do
            .build/release/cadenza-bench models --model $model --phase $phase --threads 2 "$@" \
                | grep RESULT | sed 's/^/cadenza /' >> "$LOG"
            if [ $phase = generate ]; then
                for precision in float16:f16 int8:i8; do
                    .build/release/cadenza-bench models --model $model --phase $phase --threads 2 --precision ${precision%:*} "$@" \
                        | grep RESULT | sed "s/^/cadenza /; s/phase=generate/phase=generate-${precision#*:}/" >> "$LOG"
                done
            fi
            bestline=$(OMP_NUM_THREADS=2 torch_best "$VENV/bin/python" Benchmarks/models/torch_bench.py \
                --model $model --phase $phase --threads 2 "$@" 2>>"$LOG.raw")
            [ -n "$bestline" ] && echo "torch $bestline" >> "$LOG"
            if [ $phase = generate ] && [ -n "$bestline" ]; then
                echo "torch ${bestline/phase=generate/phase=generate-f16}" >> "$LOG"
                echo "torch ${bestline/phase=generate/phase=generate-i8}" >> "$LOG"
            fi
        done
    done
    echo "round $round done ($(date -u +%H:%M), load $(cut -d' ' -f1 /proc/loadavg))" >&2
done
echo "# kept lines (Cadenza, and PyTorch's faster wait policy per round):"
cat "$LOG"
echo "# PyTorch, both wait policies:"
cat "$LOG.raw"
echo "# summary:"
python3 - "$LOG" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    side, _, rest = line.split(" ", 2)
    f = dict(kv.split("=") for kv in rest.split())
    key = (f["model"], f["phase"])
    rows.setdefault(key, {}).setdefault(side, []).append((float(f["tokens_per_s"]), int(f["peak_rss_mib"])))
print("| model | workload | Cadenza tokens/s | PyTorch tokens/s | ratio | Cadenza peak MiB | PyTorch peak MiB |")
print("|---|---|---:|---:|---:|---:|---:|")
for (model, phase), sides in rows.items():
    c = statistics.median(x for x, _ in sides.get("cadenza", [(0, 0)]))
    t = statistics.median(x for x, _ in sides.get("torch", [(0, 0)]))
    cm = max(m for _, m in sides.get("cadenza", [(0, 0)]))
    tm = max(m for _, m in sides.get("torch", [(0, 0)]))
    print(f"| {model} | {phase} | {c:.0f} | {t:.0f} | {c / t if t else float('nan'):.2f}x | {cm} | {tm} |")
PY
