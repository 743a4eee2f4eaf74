#!/usr/bin/env python3
"""Issue 21's report: tables (markdown, on stdout) and charts (PNG) from the long runs
(long.sh) and their measures (measure.sh), with error bars from the seeds.

Usage: Benchmarks/study/report.py [--runs runs/long] [--results runs/long/results]
           [--images docs/images] [--bin .build/release]

Each figure is given as mean +- standard error over the seeds found (with two seeds the
standard error is half their difference); a model with one seed so far shows its one value.
Charts are drawn by Cadenza itself: `cadenza plot-loss` for the curves and `cadenza-bench
chart` for the rest (the JSON it reads is written beside each PNG's name in RESULTS/charts).
Standard library only, so it runs wherever the study does.
"""
import argparse
import glob
import json
import math
import os
import re
import statistics
import subprocess

MODELS = [("txl", "Transformer-XL"), ("gpt2", "GPT-2")]
BUCKETS = ["1-511", "512-2047", "2048-8191", "8192+"]


def mean_se(values):
    """(mean, standard error) of the finite values; s.e. is None with fewer than two."""
    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    if len(values) == 1:
        return values[0], None
    return statistics.mean(values), statistics.stdev(values) / math.sqrt(len(values))


def fmt(values, digits=4):
    m, se = mean_se(values)
    if m is None:
        return "-"
    if se is None:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} ± {se:.{digits}f}"


def runs_of(runs_dir, results, model):
    """The runs of a model, by seed: {seed: path}. A run is its folder in RUNS, or, once that is
    gone, its measures' folder in RESULTS (which keeps a copy of its metrics.jsonl, or for runs
    whose folder was lost before that copy was made, a training.json summary)."""
    found = {}
    for folder in (results, runs_dir):
        for path in sorted(glob.glob(os.path.join(folder, f"{model}-seed*"))):
            match = re.fullmatch(rf"{model}-seed(\d+)", os.path.basename(path))
            if match and os.path.isdir(path) and (
                    os.path.exists(os.path.join(path, "metrics.jsonl"))
                    or os.path.exists(os.path.join(path, "training.json"))):
                found[int(match.group(1))] = path
    return found


def read_metrics(run):
    """The run's training records (metrics.jsonl), or None where only a summary is kept."""
    path = os.path.join(run, "metrics.jsonl")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def training_summary(records):
    """What the training table shows of one run, from its records."""
    train = [r for r in records if r["kind"] == "train"]
    valid = [r for r in records if r["kind"] == "validation"]
    if not train:
        return None
    return {"updates": train[-1]["step"], "tokens": train[-1]["tokens_seen"],
            "tokens_per_second_median": statistics.median(
                r["tokens_per_second"] for r in train if r.get("tokens_per_second")),
            "hours": train[-1]["elapsed_s"] / 3600,
            "final_validation": valid[-1]["loss"] if valid else None,
            "best_validation": min(r["loss"] for r in valid) if valid else None}


def load_json(path):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        text = f.read().strip()
    return json.loads(text.splitlines()[-1]) if text else None


def per_seed(values, digits):
    """Figures that differ by host (speeds): one per seed, in seed order, not averaged."""
    return " / ".join(f"{v:.{digits}f}" for v in values) if values else "-"


def host_of(results, run_name):
    path = os.path.join(results, run_name, "host.txt")
    return open(path).read().strip() if os.path.exists(path) else "host not recorded"


def chart(bench, results, name, images, figure):
    """Writes RESULTS/charts/NAME.json and draws IMAGES/NAME.png with cadenza-bench chart."""
    folder = os.path.join(results, "charts")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name + ".json")
    with open(path, "w") as f:
        json.dump(figure, f, indent=1)
    subprocess.run([bench, "chart", path, "--out", os.path.join(images, name + ".png")], check=True,
                   stdout=subprocess.DEVNULL)
    return f"![{figure['title']}](images/{name}.png)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/long")
    parser.add_argument("--results", default=None, help="default RUNS/results")
    parser.add_argument("--images", default="docs/images")
    parser.add_argument("--bin", default=".build/release", help="folder holding cadenza and cadenza-bench")
    parser.add_argument("--updates", type=int, default=6000,
                        help="updates of a finished run; runs short of it are listed as in progress and left out")
    args = parser.parse_args()
    results = args.results or os.path.join(args.runs, "results")
    cadenza, bench = os.path.join(args.bin, "cadenza"), os.path.join(args.bin, "cadenza-bench")
    runs, unfinished, summary_of, with_records = {}, [], {}, set()
    for model, _ in MODELS:
        runs[model] = {}
        for seed, run in runs_of(args.runs, results, model).items():
            records = read_metrics(run)
            if records is not None:
                summary = training_summary(records) or {"updates": 0}
                with_records.add(run)
            else:
                summary = load_json(os.path.join(run, "training.json"))
            summary_of[run] = summary
            if summary["updates"] >= args.updates:
                runs[model][seed] = run
            else:
                unfinished.append(f"{os.path.basename(run)} at update {summary['updates']}")
    out = []
    if unfinished:
        out += [f"In progress, left out: {', '.join(unfinished)} (of {args.updates:,}).", ""]

    # Training: where each run ended, and its speed (both models side by side, one thread each).
    out += ["### Training", "",
            "| model | seeds | updates | tokens | final validation NLL | best validation NLL | "
            "training tokens/s (median of updates), per seed | hours, per seed |",
            "|---|---|---|---|---|---|---|---|"]
    for model, label in MODELS:
        summaries = [summary_of[run] for run in runs[model].values()]
        seeds = ", ".join(str(s) for s in runs[model])
        tokens = "/".join(f"{t['tokens'] / 1e6:.1f} M" for t in summaries)
        out.append(f"| {label} | {seeds} | {'/'.join(str(t['updates']) for t in summaries)} | {tokens} | "
                   f"{fmt([t['final_validation'] for t in summaries])} | "
                   f"{fmt([t['best_validation'] for t in summaries])} | "
                   f"{per_seed([t['tokens_per_second_median'] for t in summaries], 0)} | "
                   f"{per_seed([t['hours'] for t in summaries], 2)} |")
    hosts = sorted({(seed, host_of(results, f"{model}-seed{seed}")) for model, _ in MODELS for seed in runs[model]})
    out += ["", "Speeds and hours are per seed, since the seeds ran on different hosts (the two models of "
            "one seed side by side, one thread each): " + "; ".join(f"seed {s}: {h}" for s, h in hosts) + "."]
    # One chart of validation curves per seed whose two runs still have their records.
    for seed in sorted({s for model, _ in MODELS for s in runs[model]}):
        folders = [runs[model][seed] for model, _ in MODELS
                   if seed in runs[model] and runs[model][seed] in with_records]
        if len(folders) == len(MODELS):
            os.makedirs(args.images, exist_ok=True)
            name = f"study12-validation-seed{seed}.png"
            subprocess.run([cadenza, "plot-loss", *folders, "--out", os.path.join(args.images, name)], check=True,
                           stdout=subprocess.DEVNULL)
            out += ["", f"![validation curves, seed {seed}](images/{name})"]

    # Test NLL: every reading of every run, overall and by position.
    readings = {}  # (label, reading) -> {"all": [report per seed], ...}
    for model, label in MODELS:
        for run in runs[model]:
            # measure.sh writes one file per reading: test-mem0.json ... or test-window256.json.
            files = sorted(glob.glob(os.path.join(results, f"{model}-seed{run}", "test-*.json")),
                           key=lambda path: int(re.sub(r"\D", "", os.path.basename(path)) or 0))
            for report in (r for path in files for r in (load_json(path) or {}).get("by_position", [])):
                reading = (f"window {report['window']}" if report.get("window") is not None
                           else f"memory {report['mem_len']}")
                readings.setdefault((label, reading), []).append(report)
    if readings:
        out += ["", "### Test split, whole: NLL per token (per note)", "",
                "| model | reading | seeds | targets | NLL per token | NLL per note |", "|---|---|---|---|---|---|"]
        for (label, reading), reports in readings.items():
            per_token = [r["all"]["nll_per_token"] for r in reports]
            per_note = [r["all"]["nll_per_note"] for r in reports]
            out.append(f"| {label} | {reading} | {len(reports)} | {reports[0]['all']['tokens']:,} | "
                       f"{fmt(per_token)} | {fmt(per_note, 3)} |")
        out += ["", "By position in the piece (nats per token; targets per bucket in the header):", ""]
        first = next(iter(readings.values()))[0]
        heads = [f"{b} ({bucket['tokens']:,})" for b, bucket in zip(BUCKETS, first["buckets"])]
        out += ["| model | reading | " + " | ".join(heads) + " |", "|---|---|" + "---|" * len(BUCKETS)]
        series = []
        for (label, reading), reports in readings.items():
            cells = [fmt([r["buckets"][i]["nll_per_token"] for r in reports]) for i in range(len(BUCKETS))]
            out.append(f"| {label} | {reading} | " + " | ".join(cells) + " |")
            if reading in ("memory 0", "memory 128", "memory 2048") or label == "GPT-2":
                means = [mean_se([r["buckets"][i]["nll_per_token"] for r in reports])[0] for i in range(len(BUCKETS))]
                series.append({"name": f"{label}, {reading}", "x": list(range(1, len(BUCKETS) + 1)), "y": means})
        gpt2 = [reports for (label, _), reports in readings.items() if label == "GPT-2"]
        if gpt2:
            out += ["", "Transformer-XL minus GPT-2 (window 256), by position: negative where the memory pays "
                    "(standard errors of the two added in quadrature):", "",
                    "| Transformer-XL reading | " + " | ".join(BUCKETS) + " | all |",
                    "|---|" + "---|" * (len(BUCKETS) + 1)]
            for (label, reading), reports in readings.items():
                if label != "Transformer-XL":
                    continue
                cells = []
                for pick in [lambda r, i=i: r["buckets"][i] for i in range(len(BUCKETS))] + [lambda r: r["all"]]:
                    a = mean_se([pick(r)["nll_per_token"] for r in reports])
                    b = mean_se([pick(r)["nll_per_token"] for r in gpt2[0]])
                    if a[0] is None or b[0] is None:
                        cells.append("-")
                    elif a[1] is None or b[1] is None:
                        cells.append(f"{a[0] - b[0]:+.4f}")
                    else:
                        cells.append(f"{a[0] - b[0]:+.4f} ± {math.hypot(a[1], b[1]):.4f}")
                out.append(f"| {reading} | " + " | ".join(cells) + " |")
        out += ["", chart(bench, results, "study12-position", args.images, {
            "title": "Test NLL by position in the piece (mean over seeds)", "x_label": "tokens from the piece's start",
            "y_label": "NLL (nats/token)", "markers": True,
            "x_ticks": [{"value": i + 1, "label": b} for i, b in enumerate(BUCKETS)], "series": series})]
        memory = [(int(reading.split()[1]), reports) for (label, reading), reports in readings.items()
                  if label == "Transformer-XL"]
        if memory:
            memory.sort()
            xs = [m for m, _ in memory]
            series = [{"name": "Transformer-XL", "x": xs,
                       "y": [mean_se([r["all"]["nll_per_token"] for r in reps])[0] for _, reps in memory]}]
            for (label, reading), reports in readings.items():
                if label == "GPT-2":
                    level = mean_se([r["all"]["nll_per_token"] for r in reports])[0]
                    series.append({"name": f"GPT-2, {reading}", "x": [xs[0], xs[-1]], "y": [level, level]})
            out += ["", chart(bench, results, "study12-memory", args.images, {
                "title": "Test NLL against evaluation memory (mean over seeds)", "x_label": "memory (tokens)",
                "y_label": "NLL (nats/token)", "markers": True, "series": series})]

    # Generated music: every metric of metrics --compare, each model's 50 pieces against the test split.
    compare = {label: [load_json(os.path.join(results, f"{model}-seed{s}", "metrics.json")) for s in runs[model]]
               for model, label in MODELS}
    compare = {label: [c for c in cs if c] for label, cs in compare.items()}
    if any(compare.values()):
        names = sorted(next(c for cs in compare.values() for c in cs)["metrics"],
                       key=lambda n: (re.sub(r"\d+$", "", n), int(re.search(r"\d*$", n).group() or 0)))
        out += ["", "### Generated music against the real test pieces (metrics --compare)", "",
                "Mean of the 50 pieces of 32 bars (mean ± s.e. over seeds), the first 32 bars of every real "
                "test piece (`metrics --bars 32`, so that counts and distances compare like with like), and the "
                "overlap of the two distributions (1 = the same):", "",
                "| metric | real | " + " | ".join(f"{label} | overlap" for label, _ in
                                                  [(l, 0) for _, l in MODELS]) + " |",
                "|---|---|" + "---|---|" * len(MODELS)]
        for name in names:
            real = next((c["metrics"][name]["b_mean"] for cs in compare.values() for c in cs), None)
            cells = []
            for _, label in MODELS:
                cells.append(fmt([c["metrics"][name]["a_mean"] for c in compare[label]], 3))
                cells.append(fmt([c["metrics"][name]["overlap"] for c in compare[label]], 2))
            out.append(f"| {name} | {real:.3f} | " + " | ".join(cells) + " |" if real is not None else
                       f"| {name} | - | " + " | ".join(cells) + " |")
        distances = [1, 2, 4, 8, 16]
        keys = [f"pc_similarity_{d}" for d in distances]
        if all(k in names for k in keys):
            first = next(c for cs in compare.values() for c in cs)
            series = [{"name": "real, first 32 bars", "x": distances, "y": [first["metrics"][k]["b_mean"] for k in keys]}]
            for _, label in MODELS:
                if compare[label]:
                    series.append({"name": label, "x": distances,
                                   "y": [mean_se([c["metrics"][k]["a_mean"] for c in compare[label]])[0]
                                         for k in keys]})
            out += ["", chart(bench, results, "study12-self-similarity", args.images, {
                "title": "Bar-to-bar pitch-class similarity", "x_label": "distance (bars)",
                "y_label": "cosine similarity", "markers": True, "series": series})]

    # Generation speed, from the same measures' generate.log.
    rows = []
    for model, label in MODELS:
        rates, notes = [], []
        for s in runs[model]:
            log = os.path.join(results, f"{model}-seed{s}", "generate.log")
            if not os.path.exists(log):
                continue
            pieces = re.findall(r"(\d+) notes?, (\d+) new tokens? in ([\d.]+) s", open(log).read())
            if pieces:
                rates.append(sum(int(t) for _, t, _ in pieces) / sum(float(x) for _, _, x in pieces))
                notes.append(statistics.median(int(n) for n, _, _ in pieces))
        if rates:
            rows.append(f"| {label} | {per_seed(rates, 0)} | {per_seed(notes, 0)} |")
    if rows:
        out += ["", "### Generation speed (50 pieces of 32 bars, measure.sh)", "",
                "| model | new tokens/s (all pieces), per seed | median notes per piece, per seed |",
                "|---|---|---|"] + rows
    print("\n".join(out))


if __name__ == "__main__":
    main()
