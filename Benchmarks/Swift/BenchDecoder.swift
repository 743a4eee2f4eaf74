import Basics
import ArgumentParser
import Foundation
import Tensor

/// `cadenza-bench decoder`: the batch-1 products a generation step is made of
/// (`DecoderMatrix.multiply`), in each weight precision, at the `small` model's shapes. Two
/// workloads: one matrix multiplied again and again (its weights stay in L2 when they fit),
/// and a whole step's 24 matrices of 6 layers in turn (4.7 M weights, streamed from L3 as in
/// generation). float32 is the baseline measured in the same run; prints medians over rounds
/// of weights per second, bytes per second and the speed-up over float32, over float16 (int8)
/// and over int8 (int4).
struct BenchDecoder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decoder",
        abstract: "Time the batch-1 decoder products in float32, float16, int8 and int4 at the small model's shapes.")

    @Option(help: "Rounds to run; figures are medians over them.")
    var runs = 7

    @OptionGroup var threadOptions: BenchThreads

    @Option(help: "Seconds each figure keeps repeating its products for.")
    var minSeconds = 0.1

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard minSeconds > 0 else { throw ValidationError("--min-seconds must be positive") }
    }

    /// A workload: matrices multiplied in turn, each reading the previous one's input size.
    struct Workload {
        var name: String
        /// [outputs, inputs] of each matrix, in the order a step multiplies them.
        var shapes: [(outputs: Int, inputs: Int)]
    }

    static let workloads: [Workload] = {
        let layer = [(768, 256), (256, 256), (1024, 256), (256, 1024)]  // q|k|v, output, feed-forward in and out
        return [
            Workload(name: "q|k|v [768x256]", shapes: [(768, 256)]),
            Workload(name: "feed-forward in [1024x256]", shapes: [(1024, 256)]),
            Workload(name: "feed-forward out [256x1024]", shapes: [(256, 1024)]),
            Workload(name: "a step: 6 layers x 4 matrices", shapes: Array(repeating: layer, count: 6).flatMap { $0 }),
        ]
    }()

    func run() throws {
        try threadOptions.apply()
        let threadCount = Parallel.threadCount
        print("cadenza-bench decoder: \(runs) rounds, \(threadCount) threads, \(minSeconds) s per figure")
        print(
            "workload".padding(32) + "precision".padding(10) + "G weights/s".padding(13, left: true)
                + "GB/s".padding(8, left: true) + "vs float32".padding(12, left: true)
                + "vs float16".padding(12, left: true) + "vs int8".padding(9, left: true))
        var generator = SeededGenerator(seed: 1)
        for workload in Self.workloads {
            let weights = workload.shapes.map { shape in
                (0..<shape.outputs * shape.inputs).map { _ in Float.random(in: -0.1..<0.1, using: &generator) }
            }
            let input = (0..<1024).map { _ in Float.random(in: -1..<1, using: &generator) }
            var output = [Float](repeating: 0, count: 1024)
            let count = workload.shapes.reduce(0) { $0 + $1.outputs * $1.inputs }
            var rates: [DecoderMatrix.Precision: Double] = [:]
            for precision in DecoderMatrix.Precision.allCases {
                let matrices = zip(weights, workload.shapes).map { w, shape in
                    DecoderMatrix(
                        w, outputs: shape.outputs, inputs: shape.inputs, transposed: false, precision: precision)
                }
                let bytes = matrices.reduce(0) { $0 + $1.byteCount }
                let step = { for m in matrices { m.multiply(input, bias: nil, into: &output, threads: threadCount) } }
                step()
                let stepsPerSecond = GEMMBenchmark.median(
                    (0..<runs).map { _ in
                        GEMMBenchmark.callsPerSecond(minimumSeconds: minSeconds, step)
                    })
                rates[precision] = stepsPerSecond
                let line =
                    workload.name.padding(32) + precision.rawValue.padding(10)
                    + String(format: "%.1f", stepsPerSecond * Double(count) / 1e9).padding(13, left: true)
                    + String(format: "%.1f", stepsPerSecond * Double(bytes) / 1e9).padding(8, left: true)
                    + (rates[.float32].map { String(format: "%.2fx", stepsPerSecond / $0) } ?? "").padding(
                        12, left: true)
                    + (precision == .int8
                    ? rates[.float16].map { String(format: "%.2fx", stepsPerSecond / $0) } ?? "" : "")
                    .padding(12, left: true)
                    + (precision == .int4
                    ? rates[.int8].map { String(format: "%.2fx", stepsPerSecond / $0) } ?? "" : "")
                    .padding(9, left: true)
                print(line)
            }
        }
    }
}
