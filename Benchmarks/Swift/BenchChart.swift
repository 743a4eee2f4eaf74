import ArgumentParser
import Basics
import Foundation
import Plot

/// `cadenza-bench chart FIGURE.json --out FIGURE.png`: draws a report's line chart from JSON, so
/// that scripts that gather figures (Benchmarks/study/report.py) get PNGs from Cadenza's own
/// `LineChart` without a plotting library. The JSON:
///
///     {"title": "...", "x_label": "...", "y_label": "...", "markers": true,
///      "x_ticks": [{"value": 1, "label": "0-511"}, ...],          (optional)
///      "series": [{"name": "...", "x": [1, 2], "y": [2.0, null]}]}
///
/// A null y leaves a gap in its line.
struct BenchChart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chart",
        abstract: "Draw a line chart described in a JSON file as a PNG (for reports).")

    @Argument(help: "The chart's JSON description.")
    var input: String
    @Option(name: .shortAndLong, help: "Where to write the PNG (default: the input name with .png).")
    var out: String?
    @Option(help: "Width in pixels.")
    var width: Int = 900
    @Option(help: "Height in pixels.")
    var height: Int = 560

    /// The JSON description, snake_case as every JSON Cadenza reads.
    struct Figure: Decodable {
        struct Series: Decodable { var name: String, x: [Double], y: [Double?] }
        struct Tick: Decodable { var value: Double, label: String }
        var title: String, xLabel: String, yLabel: String
        var markers: Bool?
        var xTicks: [Tick]?
        var series: [Series]
    }

    func run() throws {
        let inputURL = URL(fileURLWithPath: input)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let figure: Figure
        do {
            figure = try decoder.decode(Figure.self, from: Data(contentsOf: inputURL))
        } catch {
            throw ValidationError("\(input) is not a chart description: \(error)")
        }
        let chart = LineChart(
            title: figure.title, xLabel: figure.xLabel, yLabel: figure.yLabel,
            series: figure.series.map { .init(name: $0.name, x: $0.x, y: $0.y.map { $0 ?? .nan }) },
            showsMarkers: figure.markers ?? false,
            xTicks: figure.xTicks?.map { .init(value: $0.value, label: $0.label) })
        let outURL = URL(fileURLWithPath: out ?? inputURL.deletingPathExtension().path + ".png")
        try OutputPath.checkFile(outURL)
        try PNG.write(chart.render(width: width, height: height), to: outURL)
        print("wrote \(outURL.path)")
    }
}
