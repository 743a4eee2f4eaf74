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
        if BFloat16GEMM.path == .avx512BF16 { probeMixedPrecision(.bfloat16) }
        if Float16GEMM.path == .avx512FP16 { probeMixedPrecision(.float16) }
    }

    /// Times `train --precision bf16`'s or `fp16`'s products against float32's (on the backend
    /// training would use) on one square. Whether they pay depends on how fast the cores run
    /// `vdpbf16ps` or `vfmadd231ph` against float32's fused multiply-adds, which the feature flags
    /// do not tell (docs/benchmarks.md, "Intel Xeon"), so it is measured.
    private func probeMixedPrecision(_ precision: GEMM.Precision) {
        let operands = GEMMBenchmark.Operands(GEMMShape(m: 512, n: 512, k: 512))
        let threads = GEMM.threadCount
        var float32: [Double] = [], mixed: [Double] = []
        for _ in 0..<3 {
            float32.append(
                GEMMBenchmark.gigaflops(operands, backend: GEMM.backend, threads: threads, minimumSeconds: 0.05))
            mixed.append(GEMMBenchmark.gigaflops(operands, in: precision, threads: threads, minimumSeconds: 0.05))
        }
        let mixedMedian = GEMMBenchmark.median(mixed), float32Median = GEMMBenchmark.median(float32)
        let ratio = mixedMedian / float32Median
        let name = precision.rawValue, format = precision == .bfloat16 ? "bfloat16" : "float16"
        print(
            "  \(operands.shape.description.padding(28)) \(name.padding(9)) "
                + "\((mixedMedian * 10).rounded() / 10) GFLOP/s: \((ratio * 100).rounded() / 100)x "
                + "float32's \((float32Median * 10).rounded() / 10) in the same rounds")
        if ratio < 1.1 {
            print(
                "  -> \(format) products gain under 10 % over float32 on this CPU: "
                    + "`train --precision \(name)` will not train faster here; keep float32")
        } else {
            print("  -> `train --precision \(name)` trains with these products (docs/training.md)")
        }
    }
}
