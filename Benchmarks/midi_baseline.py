"""Times symusic and mido reading every MIDI file of a folder (see midi-baseline.sh)."""
import os
import resource
import statistics
import sys
import time

import mido
import symusic


def midi_files(root):
    found = []
    for folder, _, names in os.walk(root):
        found += [os.path.join(folder, n) for n in names if n.lower().endswith((".mid", ".midi"))]
    return sorted(found)


def symusic_pass(files):
    notes = 0
    for path in files:
        score = symusic.Score(path)
        notes += sum(len(track.notes) for track in score.tracks)
    return notes


def mido_pass(files):
    notes = 0
    for path in files:
        for track in mido.MidiFile(path).tracks:
            notes += sum(1 for m in track if m.type == "note_on" and m.velocity > 0)
    return notes


def report(name, files, megabytes, notes, times):
    median = statistics.median(times)
    print(f"{name:<9} {len(files)} files  median {median:.3f} s  {len(files) / median:.0f} files/s  "
          f"{megabytes / median:.1f} MB/s  {notes / median / 1e6:.2f} M notes/s  "
          f"runs: {' '.join(f'{t:.3f}' for t in times)}")


def main():
    root, runs, mido_limit = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    files = midi_files(root)
    megabytes = sum(os.path.getsize(f) for f in files) / 1e6
    notes = symusic_pass(files)  # warm-up (page cache, imports)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        symusic_pass(files)
        times.append(time.perf_counter() - start)
    report("symusic", files, megabytes, notes, times)
    print(f"peak memory (max resident set, Python + symusic): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.1f} MB")
    subset = files if mido_limit == "all" else files[: int(mido_limit)]
    sub_mb = sum(os.path.getsize(f) for f in subset) / 1e6
    start = time.perf_counter()
    mido_notes = mido_pass(subset)
    report("mido", subset, sub_mb, mido_notes, [time.perf_counter() - start])


if __name__ == "__main__":
    main()
