#!/usr/bin/env python3
"""MidiTok's REMI on a folder of MIDI files: the baseline for `cadenza-bench remi`.

REMI with chords, tempos and 32 velocities (MidiTok's defaults otherwise), files read with
symusic, one process, one thread: the same task as Cadenza's tokenizer (path in, ids out).
Prints one JSON line: {"files", "tokens", "seconds": [per run], "median_seconds",
"tokens_per_second", "miditok", "symusic"}.

Usage: python remi-miditok.py FOLDER [--runs N]   (set up by Benchmarks/remi-baseline.sh)
"""
import argparse
import importlib.metadata
import json
import statistics
import time
from pathlib import Path

from miditok import REMI, TokenizerConfig


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("folder")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    files = sorted(p for p in Path(args.folder).rglob("*") if p.suffix.lower() in (".mid", ".midi"))
    tokenizer = REMI(TokenizerConfig(num_velocities=32, use_chords=True, use_tempos=True, use_programs=False))
    seconds, tokens = [], 0
    for _ in range(args.runs):
        start = time.perf_counter()
        tokens = 0
        for path in files:
            sequences = tokenizer.encode(path)
            if not isinstance(sequences, list):
                sequences = [sequences]
            tokens += sum(len(s.ids) for s in sequences)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(json.dumps({"files": len(files), "tokens": tokens, "seconds": seconds, "median_seconds": median,
                      "tokens_per_second": tokens / median, "miditok": importlib.metadata.version("miditok"),
                      "symusic": importlib.metadata.version("symusic")}))


if __name__ == "__main__":
    main()
