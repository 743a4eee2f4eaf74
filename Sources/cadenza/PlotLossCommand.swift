import ArgumentParser
import Basics
import Foundation
import Plot
import Training

/// `cadenza plot-loss RUN --out loss.png`: training and validation curves of a run;
/// `cadenza plot-loss RUN1 RUN2 ...`: the validation curves of several runs, to compare them.
struct PlotLossCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-loss",
        abstract: "Draw a run's training and validation loss (nats per token) against the update number, as a PNG.",
        discussion: """
            With several run folders, each run's validation curve is drawn (its training curve \
            where it has no validation), named by its folder, so that runs can be compared.
            """)

    @Argument(help: "The run folder (holding metrics.jsonl), or several to compare.")
    var runFolders: [String]
    @Option(name: .shortAndLong, help: "Where to write the PNG.")
    var out: String = "loss.png"
    @Option(
        parsing: .unconditional,
        help:
            "Width of the picture in pixels, \(LineChart.widthRange.lowerBound) to \(LineChart.widthRange.upperBound).")
    var width: Int = 1000
    @Option(
        parsing: .unconditional,
        help:
            .init(
                "Height of the picture in pixels, \(LineChart.heightRange.lowerBound) to "
                    + "\(LineChart.heightRange.upperBound).")
    )
    var height: Int = 600

    func validate() throws {
        try checkOutputs(
            [("--out", out)],
            notAnyOf: runFolders.map {
                ("\($0)/metrics.jsonl", URL(fileURLWithPath: $0).appendingPathComponent("metrics.jsonl").path)
            })
        for (name, value, range) in [
            ("--width", width, LineChart.widthRange), ("--height", height, LineChart.heightRange),
        ] {
            guard range.contains(value) else {
                throw ValidationError(
                    "\(name) must be between \(range.lowerBound) and \(range.upperBound) pixels, got \(value)")
            }
        }
    }

    func run() throws {
        try OutputPath.checkFile(URL(fileURLWithPath: out))
        let found = try runFolders.map {
            path -> (
                name: String,
                curves: (train: [(step: Double, loss: Double)], validation: [(step: Double, loss: Double)])
            )? in
            let folder = URL(fileURLWithPath: path)
            guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("metrics.jsonl").path) else {
                throw CommandFailure("\(path) has no metrics.jsonl: not a training run folder")
            }
            let curves = try TrainingRun.lossCurves(run: folder)
            guard !curves.train.isEmpty else {
                let lines =
                    (try? String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8))?
                    .split(separator: "\n").count ?? 0
                let reason =
                    lines == 0
                    ? "\(path)/metrics.jsonl holds no training steps yet"
                    : "\(path)/metrics.jsonl has \(lines.counted("line")) but none is a training step's record "
                        + "(JSON written by `cadenza train`)"
                // Comparing runs, one not started yet is left out of the chart, not the others.
                guard runFolders.count > 1 else { throw CommandFailure(reason) }
                FileHandle.standardError.write(Data("note: \(reason): left out\n".utf8))
                return nil
            }
            return (name: folder.standardizedFileURL.lastPathComponent, curves: curves)
        }
        let runs = found.compactMap { $0 }
        guard !runs.isEmpty else { throw CommandFailure("none of the runs holds training steps yet") }
        func line(_ name: String, _ points: [(step: Double, loss: Double)]) -> LineChart.Series {
            LineChart.Series(name: name, points: points.map { LineChart.Point(x: $0.step, y: $0.loss) })
        }
        let chart: LineChart
        if let only = runs.first, runs.count == 1 {
            var series = [line("training", only.curves.train)]
            if !only.curves.validation.isEmpty { series.append(line("validation", only.curves.validation)) }
            chart = LineChart(
                title: "Loss of \(only.name)", xLabel: "update", yLabel: "loss (nats/token)",
                series: series, showsMarkers: only.curves.validation.count < 50 && only.curves.train.count < 3)
        } else {
            let series = runs.map { run in
                run.curves.validation.isEmpty
                    ? line("\(run.name) (training)", run.curves.train) : line(run.name, run.curves.validation)
            }
            chart = LineChart(
                title: "Validation loss", xLabel: "update", yLabel: "loss (nats/token)", series: series,
                showsMarkers: series.allSatisfy { $0.points.count < 50 })
        }
        try PNG.write(chart.render(width: width, height: height), to: URL(fileURLWithPath: out))
        let counts = runs.map { "\($0.curves.train.count) training, \($0.curves.validation.count) validation" }
        print("wrote \(out): \(counts.joined(separator: "; ")) points")
    }
}
