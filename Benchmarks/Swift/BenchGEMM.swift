import Basics
import ArgumentParser
import Foundation
import Tensor

/// `cadenza-bench gemm`: sgemm GFLOP/s of both backends beside numpy's matmul, measured in
/// interleaved rounds (each round times every shape once on every backend, then numpy), so
/// that load from other processes hits all of them alike. Prints medians and min–max spread.
struct BenchGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm",
        abstract: "GFLOP/s of the Swift and OpenBLAS GEMM paths beside numpy's matmul.")

    @Option(help: "Rounds to run; figures are medians over them.")
    var runs = 5

    @Option(help: "Seconds each figure keeps repeating its product for.")
    var minSeconds = 0.1

    @OptionGroup var threadOptions: BenchThreads

    @Option(help: "Python interpreter for the numpy baseline.")
    var python = "python3"

    @Option(help: "The numpy baseline script.")
    var numpyScript = BenchmarkFiles.script("gemm-numpy.py")

    @Flag(help: "Skip the numpy baseline.")
    var noNumpy = false

    @Flag(help: "Only the square shapes (quick).")
    var squaresOnly = false

    @Option(
        name: .customLong("shape"),
        help: "Measure this shape instead of the standard list: m,n,k or m,n,k,transposeA,transposeB (0/1). Repeatable."
    )
    var customShapes: [String] = []

    /// `--shape` values parsed, or nil when one is malformed.
    private var parsedShapes: [GEMMShape]? {
        let parsed = customShapes.map { text -> GEMMShape? in
            let fields = text.split(separator: ",").map { Int($0) }
            guard fields.count == 3 || fields.count == 5, fields.allSatisfy({ ($0 ?? -1) >= 0 }) else { return nil }
            let values = fields.map { $0! }
            guard values[0] > 0, values[1] > 0, values[2] > 0 else { return nil }
            return GEMMShape(
                m: values[0], n: values[1], k: values[2],
                transposeA: values.count == 5 && values[3] != 0,
                transposeB: values.count == 5 && values[4] != 0, role: "custom")
        }
        return parsed.contains { $0 == nil } ? nil : parsed.map { $0! }
    }

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard minSeconds > 0 else { throw ValidationError("--min-seconds must be positive") }
        if parsedShapes == nil {
            throw ValidationError(
                "--shape takes m,n,k or m,n,k,transposeA,transposeB with positive sizes, e.g. 2048,768,256 or "
                    + "1,768,256,0,1"
            )
        }
    }

    /// How long to wait after an OpenBLAS figure for its spinning threads to go to sleep.
    private var openBLASSettleMicroseconds: UInt32 { 250_000 }

    func run() throws {
        let threadCount = try threadOptions.apply()
        let custom = parsedShapes ?? []
        let shapes =
            !custom.isEmpty
            ? custom
            : squaresOnly
                ? GEMMShape.benchmarkShapes.filter { $0.m == $0.n && $0.n == $0.k }
                : GEMMShape.benchmarkShapes
        let backends = GEMM.Backend.allCases.filter { $0 == .swift || OpenBLAS.library != nil }
        let numpy = noNumpy ? nil : NumpyBaseline(python: python, script: numpyScript)

        print("cadenza-bench gemm: \(runs) rounds, \(threadCount) threads, \(minSeconds) s per figure")
        if let blas = OpenBLAS.library {
            print(
                "OpenBLAS: \(blas.fileName), core \(blas.coreName ?? "?"), "
                    + "OPENBLAS_CORETYPE=\(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "(unset)")")
        } else {
            print("OpenBLAS: not installed, Swift path only")
        }

        let operands = shapes.map { GEMMBenchmark.Operands($0) }
        var figures = [[GEMM.Backend: [Double]]](repeating: [:], count: shapes.count)
        var numpyFigures = [[Double]](repeating: [], count: shapes.count)
        for round in 1...runs {
            for (index, operand) in operands.enumerated() {
                for backend in backends {
                    figures[index][backend, default: []].append(
                        GEMMBenchmark.gigaflops(
                            operand, backend: backend, threads: threadCount,
                            minimumSeconds: minSeconds))
                    // OpenBLAS's idle threads keep spinning (up to 2^28 cycles, ~0.1 s) after a
                    // call and would take the second core from whatever is measured next:
                    // with no pause the Swift figures were bimodal (1024³: 240-490 GFLOP/s).
                    if backend == .openBLAS { usleep(openBLASSettleMicroseconds) }
                }
            }
            if let numpy {
                switch numpy.measure(shapes, minimumSeconds: minSeconds) {
                case .success(let values):
                    for index in shapes.indices { numpyFigures[index].append(values[index]) }
                    if round == 1 { print("numpy: \(numpy.description)") }
                case .failure(let problem):
                    if round == 1 { print("numpy baseline unavailable: \(problem)") }
                }
            }
        }
        printTable(shapes: shapes, backends: backends, figures: figures, numpyFigures: numpyFigures)
    }

    private func printTable(
        shapes: [GEMMShape], backends: [GEMM.Backend],
        figures: [[GEMM.Backend: [Double]]], numpyFigures: [[Double]]
    ) {
        func cell(_ values: [Double]) -> String {
            guard !values.isEmpty else { return "-" }
            return String(
                format: "%6.1f (%5.1f-%5.1f)", GEMMBenchmark.median(values),
                values.min()!, values.max()!)
        }
        var header = "shape".padding(toLength: 30, withPad: " ", startingAt: 0)
        for backend in backends { header += " | \(backend.rawValue) GFLOP/s median (min-max)" }
        header += " | numpy GFLOP/s median (min-max)"
        for backend in backends { header += " | \(backend.rawValue)/numpy" }
        print("\n" + header + " | role")
        for index in shapes.indices {
            var line = shapes[index].description.padding(toLength: 30, withPad: " ", startingAt: 0)
            for backend in backends { line += " | " + cell(figures[index][backend] ?? []) }
            line += " | " + cell(numpyFigures[index])
            let numpyMedian = GEMMBenchmark.median(numpyFigures[index])
            for backend in backends {
                let ratio = GEMMBenchmark.median(figures[index][backend] ?? []) / numpyMedian
                line += ratio.isFinite ? String(format: " | %5.0f %%", ratio * 100) : " | -"
            }
            print(line + " | " + shapes[index].role)
        }
    }
}

/// numpy's matmul, run by Benchmarks/gemm-numpy.py in a child process with
/// OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment (on this machine they
/// pin numpy's newer OpenBLAS to slower kernels; Cadenza's own process keeps them).
final class NumpyBaseline: CustomStringConvertible {
    let python: String
    let script: String
    /// numpy's version and BLAS description from the last run.
    private(set) var description = ""

    init(python: String, script: String) {
        self.python = python
        self.script = script
    }

    private struct Report: Decodable {
        struct Shape: Decodable { let shape: String; let gflops: [Double] }
        let numpy: String
        let shapes: [Shape]
    }

    /// One GFLOP/s figure per shape, or why there is none.
    func measure(_ shapes: [GEMMShape], minimumSeconds: Double) -> Result<[Double], NumpyError> {
        guard FileManager.default.fileExists(atPath: script) else {
            return .failure(.scriptMissing(script))
        }
        let arguments =
            [script, "--runs", "1", "--min-seconds", String(minimumSeconds)]
            + shapes.map { "\($0.m),\($0.n),\($0.k),\($0.transposeA ? 1 : 0),\($0.transposeB ? 1 : 0)" }
        let process: Subprocess.Outcome
        do {
            process = try Subprocess.run(
                python, arguments, environment: ["OPENBLAS_CORETYPE": nil, "OPENBLAS_L2_SIZE": nil])
        } catch {
            return .failure(.couldNotStart(python, "\(error)"))
        }
        let data = process.output
        guard process.status == 0,
            let report = try? JSONDecoder().decode(Report.self, from: data),
            report.shapes.count == shapes.count
        else {
            return .failure(.failed(process.lastErrorLine.isEmpty ? "no output" : process.lastErrorLine))
        }
        if let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] {
            description = "numpy \(report.numpy), BLAS \(object["blas"].map { "\($0)" } ?? "?")"
                .replacingOccurrences(of: "\n", with: " ")
        }
        return .success(report.shapes.map { $0.gflops.first ?? .nan })
    }
}

/// Why the numpy baseline could not be measured.
enum NumpyError: Error, CustomStringConvertible {
    case scriptMissing(String)
    case couldNotStart(String, String)
    case failed(String)

    var description: String {
        switch self {
        case .scriptMissing(let path):
            return "\(path) not found (run from the package root or pass --numpy-script)"
        case .couldNotStart(let python, let error):
            return "could not start \(python): \(error)"
        case .failed(let message):
            return "the script failed (is numpy installed for this python? pass --python): \(message)"
        }
    }
}
