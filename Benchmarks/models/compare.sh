#!/usr/bin/env bash
# Cadenza against PyTorch (CPU, 2 threads) on the small Transformer-XL and GPT-2, each workload
# in its own process (so peak memory is per workload), the two sides alternating round by round
# so that both see the same machine load. Prints a markdown table of medians and ratios.
#
# Usage: Benchmarks/models/compare.sh [rounds] [extra `cadenza bench models` options]
# Needs: the authors' code in TXL_REFERENCE (see docs/models.md) and a venv with torch (VENV).
# PyTorch runs with OMP_WAIT_POLICY=PASSIVE by default: on a loaded machine its spinning OpenMP
# threads collapse (GPT-2 generation 8 tokens/s spinning against 125 passive, same minute), and
# we compare against PyTorch at its best. Set OMP_WAIT_POLICY=ACTIVE on a quiet machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
shift || true
VENV=${VENV:-/work/venv-models}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "torch==2.13.*" numpy
fi
swift build -c release --product cadenza >/dev/null
LOG=$(mktemp)
for round in $(seq "$ROUNDS"); do
    for model in transformer-xl gpt2; do
        for phase in train eval generate; do
            .build/release/cadenza bench models --model $model --phase $phase --threads 2 "$@" \
                | grep RESULT | sed 's/^/cadenza /' >> "$LOG"
            OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE} OMP_NUM_THREADS=2 "$VENV/bin/python" Benchmarks/models/torch_bench.py --model $model --phase $phase \
                --threads 2 "$@" 2>/dev/null | grep RESULT | sed 's/^/torch /' >> "$LOG"
        done
    done
    echo "round $round done" >&2
done
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
