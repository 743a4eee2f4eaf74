#!/usr/bin/env bash
# Reads one folder of MIDI files with cadenza, symusic (C++ core) and mido (pure Python), in one
# run, so that the figures are comparable on the same machine and page cache.
#
#   Benchmarks/midi-baseline.sh [DATA] [RUNS] [MIDO_FILES]
#
# DATA defaults to ../shared/data/maestro-asap; RUNS (default 5) timed runs give each median;
# MIDO_FILES (default: all) limits mido, which takes about a minute for maestro-asap, to the first
# N files, timed once. The Python packages live in a venv OUTSIDE the repository ($VENV, default
# ../venv-midi beside the checkout); the Swift code depends on neither.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:-../shared/data/maestro-asap}
RUNS=${2:-5}
MIDO_FILES=${3:-all}
VENV=${VENV:-$(cd .. && pwd)/venv-midi}
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/pip" install -q symusic mido
swift build -c release >/dev/null
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); machine: $(nproc) cores, $(uname -m)"
echo "== cadenza"
.build/release/cadenza-bench midi "$DATA" --runs "$RUNS"
echo "== symusic $("$VENV/bin/python" -c 'import symusic; print(symusic.__version__)' 2>/dev/null || true), mido $("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("mido"))')"
"$VENV/bin/python" Benchmarks/midi_baseline.py "$DATA" "$RUNS" "$MIDO_FILES"
