import ArgumentParser
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
    @Option(help: "Width of the picture in pixels.")
    var width: Int = 1000
    @Option(help: "Height of the picture in pixels.")
    var height: Int = 600

    func validate() throws {
        guard width >= 300, height >= 200 else { throw ValidationError("the picture must be at least 300 x 200 pixels") }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: runFolder)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("metrics.jsonl").path) else {
            throw ValidationError("\(runFolder) has no metrics.jsonl: not a training run folder")
        }
        let curves = try TrainingRun.lossCurves(run: folder)
        guard !curves.train.isEmpty else { throw ValidationError("\(runFolder)/metrics.jsonl holds no training steps yet") }
        var series = [LineChart.Series(name: "training", points: curves.train.map { LineChart.Point(x: $0.step, y: $0.loss) })]
        if !curves.validation.isEmpty {
            series.append(LineChart.Series(name: "validation", points: curves.validation.map { LineChart.Point(x: $0.step, y: $0.loss) }))
        }
        let chart = LineChart(title: "Loss of \(folder.lastPathComponent)", xLabel: "update", yLabel: "loss (nats/token)",
                              series: series, showsMarkers: curves.validation.count < 50 && curves.train.count < 3)
        try PNG.write(chart.render(width: width, height: height), to: URL(fileURLWithPath: out))
        print("wrote \(out): \(curves.train.count) training points, \(curves.validation.count) validation points")
    }
}
