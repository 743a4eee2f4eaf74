import ArgumentParser
import Basics
import Foundation
import Plot
import Training

/// `cadenza plot-loss RUN --out loss.png`: training and validation curves of a run.
struct PlotLossCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot-loss",
        abstract: "Draw a run's training and validation loss (nats per token) against the update number, as a PNG.")

    @Argument(help: "The run folder (holding metrics.jsonl).")
    var runFolder: String
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
        let folder = URL(fileURLWithPath: runFolder)
        try OutputPath.checkFile(URL(fileURLWithPath: out))
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("metrics.jsonl").path) else {
            throw CommandFailure("\(runFolder) has no metrics.jsonl: not a training run folder")
        }
        let curves = try TrainingRun.lossCurves(run: folder)
        guard !curves.train.isEmpty else {
            throw CommandFailure("\(runFolder)/metrics.jsonl holds no training steps yet")
        }
        var series = [
            LineChart.Series(name: "training", points: curves.train.map { LineChart.Point(x: $0.step, y: $0.loss) })
        ]
        if !curves.validation.isEmpty {
            series.append(
                LineChart.Series(
                    name: "validation", points: curves.validation.map { LineChart.Point(x: $0.step, y: $0.loss) }))
        }
        let chart = LineChart(
            title: "Loss of \(folder.lastPathComponent)", xLabel: "update", yLabel: "loss (nats/token)",
            series: series, showsMarkers: curves.validation.count < 50 && curves.train.count < 3)
        try PNG.write(chart.render(width: width, height: height), to: URL(fileURLWithPath: out))
        print("wrote \(out): \(curves.train.count) training points, \(curves.validation.count) validation points")
    }
}
