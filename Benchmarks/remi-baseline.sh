#!/bin/sh
# Sets up MidiTok + symusic in a venv outside the repository (default /work/venv-remi) and runs
# the REMI baseline on pop909. `cadenza-bench remi --baseline-python VENV/bin/python` runs the
# same script in the same invocation as Cadenza's own figures, which is how docs/benchmarks.md
# is measured.
#   Benchmarks/remi-baseline.sh [DATA_DIR] [RUNS]
set -e
VENV=${VENV:-/work/venv-remi}
DATA=${1:-../shared/data}
RUNS=${2:-3}
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q miditok symusic
fi
exec "$VENV/bin/python" "$(dirname "$0")/remi-miditok.py" "$DATA/pop909" --runs "$RUNS"
