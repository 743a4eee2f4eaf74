import Testing
import TensorKernels
@testable import Tensor

/// The mixed-precision product (issue 19): bfloat16 rounding, the plain loop against a naive
/// reference (exactly), AVX-512 BF16 against the plain loop (exactly, where the CPU has it),
/// the float32 product within the bfloat16 rounding bound, and the dispatch.
@Suite struct BFloat16GEMMTests {
    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in g.nextUniform() * 2 - 1 }
    }

    /// op(X)[r][c] of a row-major matrix stored [rows, columns] or, transposed, [columns, rows].
    static func element(_ x: [Float], _ r: Int, _ c: Int, rows: Int, columns: Int, transposed: Bool) -> Float {
        transposed ? x[c * rows + r] : x[r * columns + c]
    }

    /// The product from the rounded operands, summed as `vdpbf16ps` sums: pairs of k, the odd
    /// one's product first.
    static func reference(
        m: Int, n: Int, k: Int, a: [Float], transposeA: Bool, b: [Float], transposeB: Bool, c: [Float],
        alpha: Float, beta: Float
    ) -> [Float] {
        var out = c
        for i in 0..<m {
            for j in 0..<n {
                var acc: Float = 0
                for kk in stride(from: 0, to: k, by: 2) {
                    if kk + 1 < k {
                        let x = BFloat16GEMM.rounded(element(a, i, kk + 1, rows: m, columns: k, transposed: transposeA))
                        let y = BFloat16GEMM.rounded(element(b, kk + 1, j, rows: k, columns: n, transposed: transposeB))
                        acc += x * y
                    }
                    let x = BFloat16GEMM.rounded(element(a, i, kk, rows: m, columns: k, transposed: transposeA))
                    let y = BFloat16GEMM.rounded(element(b, kk, j, rows: k, columns: n, transposed: transposeB))
                    acc += x * y
                }
                let v = alpha * acc
                out[i * n + j] = beta == 0 ? v : v + beta * c[i * n + j]
            }
        }
        return out
    }

    static func product(
        m: Int, n: Int, k: Int, a: [Float], transposeA: Bool, b: [Float], transposeB: Bool, c: [Float],
        alpha: Float, beta: Float, threads: Int, path: BFloat16GEMM.Path
    ) -> [Float] {
        var out = c
        BFloat16GEMM.multiply(
            m: m, n: n, k: k, a: a, lda: transposeA ? m : k, transposeA: transposeA, b: b,
            ldb: transposeB ? k : n, transposeB: transposeB, c: &out, ldc: n, alpha: alpha, beta: beta,
            threads: threads, path: path)
        return out
    }

    @Test func roundingIsToNearestWithTiesToEven() {
        #expect(BFloat16GEMM.rounded(1) == 1)
        #expect(BFloat16GEMM.rounded(1 + 0x1p-8) == 1)  // halfway to 1 + 2^-7: to the even 1
        #expect(BFloat16GEMM.rounded(1 + 3 * 0x1p-8) == 1 + 0x1p-6)  // halfway: to the even one above
        #expect(BFloat16GEMM.rounded(1 + 0x1p-8 + 0x1p-20) == 1 + 0x1p-7)  // above halfway: up
        #expect(BFloat16GEMM.rounded(-3.1415927) == -3.140625)
        #expect(BFloat16GEMM.rounded(.infinity) == .infinity)
        #expect(BFloat16GEMM.rounded(.nan).isNaN)
    }

    static let shapes: [(m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool)] = [
        (1, 1, 1, false, false), (12, 32, 8, false, false), (13, 33, 7, true, false), (25, 70, 129, false, true),
        (40, 17, 64, true, true), (3, 100, 300, false, false), (61, 45, 31, true, false), (30, 90, 18, true, true),
    ]

    @Test func thePlainLoopIsTheReferenceExactly() {
        for (index, s) in Self.shapes.enumerated() {
            let a = Self.random(s.m * s.k, seed: UInt64(index)), b = Self.random(s.k * s.n, seed: UInt64(100 + index))
            let c = Self.random(s.m * s.n, seed: UInt64(200 + index))
            for (alpha, beta) in [(Float(1), Float(0)), (0.5, 1), (-2, 0.25), (0.7, 0.3)] {
                let expected = Self.reference(
                    m: s.m, n: s.n, k: s.k, a: a, transposeA: s.transposeA, b: b, transposeB: s.transposeB, c: c,
                    alpha: alpha, beta: beta)
                for threads in [1, 2] {
                    let got = Self.product(
                        m: s.m, n: s.n, k: s.k, a: a, transposeA: s.transposeA, b: b, transposeB: s.transposeB, c: c,
                        alpha: alpha, beta: beta, threads: threads, path: .plain)
                    #expect(got == expected, "shape \(s), alpha \(alpha), beta \(beta), \(threads) threads")
                }
            }
        }
    }

    @Test(.enabled(if: cadenza_cpu_has_avx512bf16() == 1, "this CPU has no AVX-512 BF16"))
    func avx512BF16GivesThePlainLoopsBits() {
        for (index, s) in Self.shapes.enumerated() {
            let a = Self.random(s.m * s.k, seed: UInt64(300 + index)), b = Self.random(s.k * s.n, seed: UInt64(index))
            let c = Self.random(s.m * s.n, seed: UInt64(400 + index))
            let plain = Self.product(
                m: s.m, n: s.n, k: s.k, a: a, transposeA: s.transposeA, b: b, transposeB: s.transposeB, c: c,
                alpha: 0.7, beta: 0.3, threads: 1, path: .plain)
            for threads in [1, 2] {
                let fast = Self.product(
                    m: s.m, n: s.n, k: s.k, a: a, transposeA: s.transposeA, b: b, transposeB: s.transposeB, c: c,
                    alpha: 0.7, beta: 0.3, threads: threads, path: .avx512BF16)
                #expect(fast == plain, "shape \(s), \(threads) threads")
            }
        }
    }

    /// Each operand moves by at most 2^-9 of itself when rounded, so each product by at most
    /// about 2^-8 of |a||b|: the bound is 2^-8 times the sum of |a||b| over k.
    @Test func theFloat32ProductIsWithinTheBFloat16Bound() {
        let (m, n, k) = (37, 45, 300)
        let a = Self.random(m * k, seed: 7), b = Self.random(k * n, seed: 8)
        var exact = [Float](repeating: 0, count: m * n)
        GEMM.multiply(using: .swift, threads: 1, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &exact, ldc: n)
        let mixed = Self.product(
            m: m, n: n, k: k, a: a, transposeA: false, b: b, transposeB: false, c: exact, alpha: 1, beta: 0,
            threads: 2, path: BFloat16GEMM.path)
        var worstRatio: Float = 0, moved = false
        for i in 0..<m {
            for j in 0..<n {
                var magnitude: Float = 0
                for p in 0..<k { magnitude += abs(a[i * k + p] * b[p * n + j]) }
                let error = abs(mixed[i * n + j] - exact[i * n + j])
                worstRatio = max(worstRatio, error / (0x1p-8 * magnitude + 1e-6))
                moved = moved || error > 0
            }
        }
        #expect(worstRatio <= 1, "worst error / bound = \(worstRatio)")
        #expect(moved, "bfloat16 operands must change something")
    }

    @Test func theDispatchPicksAPathTheCPUHas() {
        #expect(BFloat16GEMM.path(forCPUFlags: ["avx512f", "avx512_bf16", "avx512_vnni"]) == .avx512BF16)
        #expect(BFloat16GEMM.path(forCPUFlags: ["avx2", "fma", "avx512f"]) == .plain)
        #expect(BFloat16GEMM.path(forCPUFlags: []) == .plain)
        // The path in force is one this CPU runs.
        if BFloat16GEMM.path == .avx512BF16 { #expect(cadenza_cpu_has_avx512bf16() == 1) }
        #expect(
            (cadenza_cpu_has_avx512bf16() == 1) == CPUInfo.read().flags.contains("avx512_bf16"),
            "the CPU and /proc/cpuinfo disagree")
    }
}
