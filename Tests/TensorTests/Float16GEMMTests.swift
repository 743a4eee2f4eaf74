import Testing
import TensorKernels

@testable import Tensor

/// The float16 mixed-precision product (issue 19): the plain loop against a reference written
/// here from the definition (exactly), AVX-512 FP16 against the plain loop (exactly, where the
/// CPU has it), the float32 product within float16's rounding bound and closer than bfloat16's,
/// operands far outside float16's range, NaN, the dispatch and `GEMM`'s precision switch.
@Suite struct Float16GEMMTests {
    typealias Shape = (m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool)

    static let element = BFloat16GEMMTests.element
    static let random = BFloat16GEMMTests.random

    /// The largest error of a product as a share of Σ|a||b| (see the test of the bound).
    static let bound: Float = 0x1p-6

    /// The power of two that brings `largest` into [2^4, 2^5).
    static func scale(_ largest: Float) -> Float {
        largest > 0 && largest.isFinite ? Float(sign: .plus, exponent: 4 - Int(largest.exponent), significand: 1) : 1
    }

    /// The product as defined: each row of op(A) and column of op(B) times its scale, rounded to
    /// float16; per output, the even depths and the odd depths each summed in float16 (every
    /// multiply-add rounded once), 32 at a time, each such sum added to a float32 sum; the two
    /// sums added, times the row's and the column's inverse scales, then alpha and beta.
    static func reference(
        _ s: Shape, a: [Float], b: [Float], c: [Float], alpha: Float, beta: Float
    ) -> [Float] {
        let scaleA = (0..<s.m).map { i in
            scale((0..<s.k).map { abs(element(a, i, $0, s.m, s.k, s.transposeA)) }.max() ?? 0)
        }
        let scaleB = (0..<s.n).map { j in
            scale((0..<s.k).map { abs(element(b, $0, j, s.k, s.n, s.transposeB)) }.max() ?? 0)
        }
        func x(_ i: Int, _ p: Int) -> Double {
            Double(Float16(element(a, i, p, s.m, s.k, s.transposeA) * scaleA[i]))
        }
        func y(_ p: Int, _ j: Int) -> Double {
            Double(Float16(element(b, p, j, s.k, s.n, s.transposeB) * scaleB[j]))
        }
        var out = c
        let pairs = (s.k + 1) / 2
        for i in 0..<s.m {
            for j in 0..<s.n {
                var sums: [Float] = [0, 0]
                for start in stride(from: 0, to: pairs, by: 32) {
                    for parity in 0..<2 {
                        var h: Float16 = 0
                        for pair in start..<min(start + 32, pairs) where 2 * pair + parity < s.k {
                            let p = 2 * pair + parity
                            h = Float16(x(i, p) * y(p, j) + Double(h))
                        }
                        sums[parity] += Float(h)
                    }
                }
                let v = alpha * ((sums[0] + sums[1]) * (1 / scaleA[i]) * (1 / scaleB[j]))
                out[i * s.n + j] = beta == 0 ? v : v + beta * c[i * s.n + j]
            }
        }
        return out
    }

    static func product(
        _ s: Shape, a: [Float], b: [Float], c: [Float], alpha: Float = 1, beta: Float = 0, threads: Int,
        path: Float16GEMM.Path
    ) -> [Float] {
        var out = c
        Float16GEMM.multiply(
            m: s.m, n: s.n, k: s.k, a: a, lda: s.transposeA ? s.m : s.k, transposeA: s.transposeA, b: b,
            ldb: s.transposeB ? s.k : s.n, transposeB: s.transposeB, c: &out, ldc: s.n, alpha: alpha, beta: beta,
            threads: threads, path: path)
        return out
    }

    /// bfloat16's shapes, one more, and one whose operands, both stored by depth, have more lanes
    /// than the 64 the scales are found for at a time, the last group part-filled.
    static let shapes: [Shape] = BFloat16GEMMTests.shapes + [(13, 40, 150, false, true), (70, 70, 2048, true, false)]

    @Test func thePlainLoopIsTheDefinitionExactly() {
        for (index, s) in Self.shapes.enumerated() {
            // Operands of different sizes, so that the scales differ from 1 and from each other.
            let a = Self.random(s.m * s.k, UInt64(index)).map { $0 * 3 }
            let b = Self.random(s.k * s.n, UInt64(100 + index)).map { $0 * 0.02 }
            let c = Self.random(s.m * s.n, UInt64(200 + index))
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (-2, 0.25)] {
                let expected = Self.reference(s, a: a, b: b, c: c, alpha: alpha, beta: beta)
                for threads in [1, 2] {
                    let got = Self.product(
                        s, a: a, b: b, c: c, alpha: alpha, beta: beta, threads: threads, path: .plain)
                    #expect(got == expected, "shape \(s), alpha \(alpha), beta \(beta), \(threads) threads")
                }
            }
        }
    }

    @Test(.enabled(if: cadenza_cpu_has_avx512fp16() == 1, "this CPU has no AVX-512 FP16"))
    func avx512FP16GivesThePlainLoopsBits() {
        for (index, s) in Self.shapes.enumerated() {
            // Small entries too, whose float16 products and sums are subnormal.
            let a = Self.random(s.m * s.k, UInt64(300 + index)).enumerated().map {
                $0.offset % 7 == 0 ? $0.element * 1e-5 : $0.element
            }
            let b = Self.random(s.k * s.n, UInt64(index))
            let c = Self.random(s.m * s.n, UInt64(400 + index))
            let plain = Self.product(s, a: a, b: b, c: c, alpha: 0.7, beta: 0.3, threads: 1, path: .plain)
            for threads in [1, 2] {
                let fast = Self.product(s, a: a, b: b, c: c, alpha: 0.7, beta: 0.3, threads: threads, path: .avx512FP16)
                #expect(fast == plain, "shape \(s), \(threads) threads")
            }
        }
    }

    /// Worst and mean error against the float32 product, as a share of Σ|a||b| per output.
    static func errors(_ mixed: [Float], _ exact: [Float], a: [Float], b: [Float], m: Int, n: Int, k: Int)
        -> (worst: Float, mean: Float)
    {
        var worst: Float = 0, total: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                var magnitude: Float = 0
                for p in 0..<k { magnitude += abs(a[i * k + p] * b[p * n + j]) }
                let share = abs(mixed[i * n + j] - exact[i * n + j]) / magnitude
                worst = max(worst, share)
                total += share
            }
        }
        return (worst, total / Float(m * n))
    }

    /// Rounding each operand moves a product by at most about 2 · 2^-11 of |a||b|, and a float16
    /// sum of 32 terms by at most 31 · 2^-11 of the sum of their magnitudes: the bound is 2^-6 of
    /// Σ|a||b|. On average the products also err less than bfloat16's (2^-9 per operand).
    @Test func theFloat32ProductIsWithinTheFloat16BoundAndCloserThanBFloat16s() {
        let (m, n, k) = (37, 45, 300)
        let a = Self.random(m * k, 7), b = Self.random(k * n, 8).map { $0 * 0.05 }
        var exact = [Float](repeating: 0, count: m * n)
        GEMM.multiply(using: .swift, threads: 1, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &exact, ldc: n)
        let s: Shape = (m, n, k, false, false)
        let half = Self.product(s, a: a, b: b, c: exact, threads: 2, path: Float16GEMM.path)
        var brain = exact
        BFloat16GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &brain, ldc: n, threads: 2)
        let f16 = Self.errors(half, exact, a: a, b: b, m: m, n: n, k: k)
        let bf16 = Self.errors(brain, exact, a: a, b: b, m: m, n: n, k: k)
        #expect(f16.worst <= Self.bound, "worst error / Σ|a||b| = \(f16.worst)")
        #expect(f16.mean > 0, "float16 operands must change something")
        #expect(f16.mean < bf16.mean, "mean error: float16 \(f16.mean), bfloat16 \(bf16.mean)")
    }

    @Test func aRowOfSmallValuesKeepsItsPrecisionBesideLargeOnes() {
        // Row 0 of A is a million times smaller than the others: with one scale for all of A its
        // values would fall below float16's normal numbers.
        let (m, n, k) = (4, 40, 64)
        let s: Shape = (m, n, k, false, false)
        let a = Self.random(m * k, 21).enumerated().map { $0.offset < k ? $0.element * 1e-6 : $0.element }
        let b = Self.random(k * n, 22)
        var exact = [Float](repeating: 0, count: m * n)
        GEMM.multiply(using: .swift, threads: 1, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &exact, ldc: n)
        let half = Self.product(s, a: a, b: b, c: exact, threads: 1, path: Float16GEMM.path)
        for j in 0..<n {
            var magnitude: Float = 0
            for p in 0..<k { magnitude += abs(a[p] * b[p * n + j]) }
            #expect(abs(half[j] - exact[j]) <= Self.bound * magnitude, "column \(j)")
        }
    }

    @Test func operandsFarOutsideFloat16sRangeAreScaledIntoIt() {
        // Float16 overflows above 65,504 and has no normal numbers below 2^-14.
        let (m, n, k) = (5, 33, 70)
        let s: Shape = (m, n, k, false, true)
        let a = Self.random(m * k, 11).map { $0 * 1e6 }, b = Self.random(n * k, 12).map { $0 * 1e-7 }
        var exact = [Float](repeating: 0, count: m * n)
        GEMM.multiply(
            using: .swift, threads: 1, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, transposeB: true, c: &exact, ldc: n
        )
        let half = Self.product(s, a: a, b: b, c: exact, threads: 1, path: Float16GEMM.path)
        for i in 0..<m {
            for j in 0..<n {
                var magnitude: Float = 0
                for p in 0..<k { magnitude += abs(a[i * k + p] * b[j * k + p]) }
                #expect(abs(half[i * n + j] - exact[i * n + j]) <= Self.bound * magnitude, "row \(i), column \(j)")
            }
        }
    }

    @Test func aNaNInAnOperandGivesNaN() {
        let s: Shape = (3, 4, 5, false, false)
        var a = Self.random(15, 1)
        a[6] = .nan  // row 1
        let got = Self.product(
            s, a: a, b: Self.random(20, 2), c: [Float](repeating: 0, count: 12), threads: 1, path: .plain)
        #expect(got[4..<8].allSatisfy { $0.isNaN })
    }

    @Test func theDispatchPicksAPathTheCPUHas() {
        #expect(Float16GEMM.path(forCPUFlags: ["avx512f", "avx512_fp16", "avx512_bf16"]) == .avx512FP16)
        #expect(Float16GEMM.path(forCPUFlags: ["avx512f", "avx512_bf16", "f16c"]) == .plain)
        #expect(Float16GEMM.path(forCPUFlags: []) == .plain)
        if Float16GEMM.path == .avx512FP16 { #expect(cadenza_cpu_has_avx512fp16() == 1) }
        #expect(
            (cadenza_cpu_has_avx512fp16() == 1) == CPUInfo.read().flags.contains("avx512_fp16"),
            "the CPU and /proc/cpuinfo disagree")
    }

    @Test func gemmComputesInFloat16WhenAskedOnThisThread() {
        let (m, n, k) = (20, 30, 40)
        let a = Self.random(m * k, 3), b = Self.random(k * n, 4)
        var viaGEMM = [Float](repeating: 0, count: m * n), direct = viaGEMM, float32 = viaGEMM
        GEMM.setPrecision(.float16)
        #expect(GEMM.precision == .float16)
        GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &viaGEMM, ldc: n)
        GEMM.setPrecision(.float32)
        #expect(GEMM.precision == .float32)
        GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &float32, ldc: n)
        Float16GEMM.multiply(
            m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &direct, ldc: n, threads: GEMM.threadCount)
        #expect(viaGEMM == direct)
        #expect(viaGEMM != float32)
    }
}
