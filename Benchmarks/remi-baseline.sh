#!/bin/sh
# Sets up MidiTok + symusic in a venv (VENV, default Benchmarks/.venv-remi, ignored by git) and
# runs the REMI baseline on pop909. `cadenza-bench remi DATA --baseline-python VENV/bin/python` runs
# the same script in the same invocation as Cadenza's own figures, which is how
# docs/benchmarks.md is measured.
#   Benchmarks/remi-baseline.sh [DATA_DIR] [RUNS]
# DATA_DIR (default ../shared/data, the folder holding pop909/) is taken from the repository root.
set -e
cd "$(dirname "$0")/.."
VENV=${VENV:-$PWD/Benchmarks/.venv-remi}
DATA=${1:-../shared/data}
RUNS=${2:-3}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q miditok symusic
fi
exec "$VENV/bin/python" Benchmarks/remi-miditok.py "$DATA/pop909" --runs "$RUNS"
