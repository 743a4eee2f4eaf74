import Basics
import ArgumentParser
import Tensor

/// `cadenza doctor`: what the tensor engine runs on here, and how to make it faster.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report the GEMM path, thread count and CPU features, with a quick speed probe.")

    @Flag(help: "Skip the GFLOP/s probe (about a second).")
    var noProbe = false

    func run() throws {
        for line in GEMMDiagnostics.collect().lines {
            print("\(line.label.padding(16)) \(line.value)")
            if let advice = line.advice { print("\("".padding(16))   -> \(advice)") }
        }
        guard !noProbe else { return }
        print("\nspeed probe (median of 3, \(GEMM.threadCount) threads):")
        let backends = GEMM.Backend.allCases.filter { $0 == .swift || OpenBLAS.library != nil }
        for shape in [GEMMShape(m: 512, n: 512, k: 512), GEMMShape(m: 1, n: 768, k: 256, role: "matvec")] {
            let operands = GEMMBenchmark.Operands(shape)
            for backend in backends {
                let figures = (0..<3).map { _ in
                    GEMMBenchmark.gigaflops(
                        operands, backend: backend, threads: GEMM.threadCount,
                        minimumSeconds: 0.05)
                }
                let median = GEMMBenchmark.median(figures)
                print(
                    "  \(shape.description.padding(28)) \(backend.rawValue.padding(9)) "
                        + "\((median * 10).rounded() / 10) GFLOP/s")
            }
        }
    }
}
