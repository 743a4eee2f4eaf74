import ArgumentParser
import Foundation
import Tensor

/// `cadenza-bench bf16`: the mixed-precision products (`BFloat16GEMM`, bfloat16 operands, float32
/// sums; `Float16GEMM`, scaled float16 operands, float16 sums of 32 then float32) against the
/// float32 product (`GEMM`, Swift backend) on the shapes of training the `small` models (16 x 128 =
/// 2,048 rows; forward, and the two backward products of each), and a square one; interleaved
/// rounds, medians. PyTorch's bfloat16 matmul on the same shapes: Benchmarks/bf16-torch.py.
struct BenchBFloat16: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bf16",
        abstract: "GFLOP/s of the bfloat16 and float16 mixed-precision GEMMs against the float32 GEMM.")

    @Option(help: "Rounds; figures are medians over them.")
    var runs = 5
    @Option(help: "Seconds each figure keeps repeating its product for.")
    var minSeconds = 0.2
    @Flag(help: "Also time a 16-bit product whose path on this CPU is the plain loop (minutes per shape).")
    var plainPaths = false
    @OptionGroup var threadOptions: BenchThreads

    /// (m, n, k, transposeA, transposeB, what).
    static let shapes: [(Int, Int, Int, Bool, Bool, String)] = [
        (2048, 768, 256, false, true, "qkv forward"), (2048, 256, 768, false, false, "qkv dX"),
        (768, 256, 2048, true, false, "qkv dW"), (2048, 1024, 256, false, true, "ff1 forward"),
        (2048, 256, 1024, false, true, "ff2 forward"), (1024, 256, 2048, true, false, "ff2 dW"),
        (2048, 368, 256, false, true, "logits forward"), (1024, 1024, 1024, false, false, "square"),
    ]

    func run() throws {
        let threads = try threadOptions.apply()
        let cpu =
            (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.split(separator: "\n")
            .first { $0.hasPrefix("model name") }.map { String($0.split(separator: ":").last ?? "") } ?? "unknown"
        print(
            "CPU:\(cpu); bfloat16 path: \(BFloat16GEMM.path.rawValue); float16 path: \(Float16GEMM.path.rawValue); "
                + "\(threads) threads")
        print(
            "shape                         float32 GFLOP/s   bf16 GFLOP/s   bf16 / float32   fp16 GFLOP/s   fp16 / float32"
        )
        var g = SeededGenerator(seed: 1)
        var skippedPlain = false
        defer {
            if skippedPlain {
                print("-: the CPU has no fast path for it, so it runs the plain loop; --plain-paths times it")
            }
        }
        for (m, n, k, ta, tb, what) in Self.shapes {
            let a = (0..<(m * k)).map { _ in g.nextUniform() - 0.5 },
                b = (0..<(k * n)).map { _ in g.nextUniform() - 0.5 }
            var c = [Float](repeating: 0, count: m * n)
            let (lda, ldb) = (ta ? m : k, tb ? k : n)
            func rate(_ body: () -> Void) -> Double {
                var repeats = 0
                let start = Date()
                repeat {
                    body()
                    repeats += 1
                } while Date().timeIntervalSince(start) < minSeconds
                return 2 * Double(m * n * k) * Double(repeats) / Date().timeIntervalSince(start) / 1e9
            }
            // Per precision (float32, bf16, fp16), the rates of the rounds, interleaved.
            let precisions: [GEMM.Precision] = [.float32, .bfloat16, .float16]
            // The plain loops run at a fraction of a GFLOP/s: skipped (NaN, printed as such)
            // unless asked for.
            let timed = [
                true, plainPaths || BFloat16GEMM.path != .plain, plainPaths || Float16GEMM.path != .plain,
            ]
            var rates = [[Double]](repeating: [], count: precisions.count)
            for _ in 0..<runs {
                for (index, precision) in precisions.enumerated() {
                    guard timed[index] else {
                        rates[index].append(.nan)
                        continue
                    }
                    rates[index].append(
                        rate {
                            GEMM.multiply(
                                in: precision, using: .swift, threads: threads, m: m, n: n, k: k, a: a, lda: lda,
                                transposeA: ta, b: b, ldb: ldb, transposeB: tb, c: &c, ldc: n)
                        })
                }
            }
            let (x, y, z) = (rates[0].sorted()[runs / 2], rates[1].sorted()[runs / 2], rates[2].sorted()[runs / 2])
            let name = "\(m)x\(n)x\(k)\(ta ? " Aᵀ" : "")\(tb ? " Bᵀ" : "") \(what)"
            func columns(_ rate: Double) -> String {
                rate.isNaN
                    ? String(repeating: " ", count: 14) + "-" + String(repeating: " ", count: 17) + "-"
                    : String(format: " %14.1f %16.2fx", rate, rate / x)
            }
            print(
                name.padding(toLength: 30, withPad: " ", startingAt: 0) + String(format: "%15.1f", x) + columns(y)
                    + columns(z))
            if !timed[1] || !timed[2] { skippedPlain = true }
        }
    }
}
