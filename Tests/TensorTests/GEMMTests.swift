import Dispatch
import Testing
@testable import Tensor

/// Both GEMM backends against a float64 reference.
///
/// Tolerance: |C - reference| <= 1e-5 * (|alpha| * sum_p |A(i,p) * B(p,j)| + |beta * C0(i,j)|)
/// + 1e-6. Float32 summation of k products errs by at most about k * 6e-8 of that sum in the
/// worst case and about sqrt(k) * 6e-8 typically, so 1e-5 holds for k up to ~1000 with margin,
/// while any indexing or edge bug is off by a whole term (order 1e-1 of the sum or more).
struct GEMMTests {
    /// One product's inputs, stored with padded strides so that lda/ldb/ldc are exercised.
    struct Problem {
        var m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float
        var a: [Float], lda: Int, b: [Float], ldb: Int, c: [Float], ldc: Int

        init(
            m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool,
            alpha: Float = 1, beta: Float = 0, padding: Int = 0, seed: UInt64
        ) {
            var random = SeededGenerator(seed: seed)
            self.m = m; self.n = n; self.k = k
            self.transposeA = transposeA; self.transposeB = transposeB
            self.alpha = alpha; self.beta = beta
            lda = max(1, transposeA ? m : k) + padding
            ldb = max(1, transposeB ? k : n) + padding
            ldc = n + padding
            a = (0..<((transposeA ? k : m) * lda)).map { _ in random.nextNormal() }
            b = (0..<((transposeB ? n : k) * ldb)).map { _ in random.nextNormal() }
            c = (0..<(m * ldc)).map { _ in random.nextNormal() }
        }

        func opA(_ i: Int, _ p: Int) -> Float { transposeA ? a[p * lda + i] : a[i * lda + p] }
        func opB(_ p: Int, _ j: Int) -> Float { transposeB ? b[j * ldb + p] : b[p * ldb + j] }

        /// Runs GEMM on a copy of C.
        func run(_ backend: GEMM.Backend, threads: Int) -> [Float] {
            var result = c
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    result.withUnsafeMutableBufferPointer { c in
                        GEMM.multiply(
                            using: backend, threads: threads, m: m, n: n, k: k,
                            a: a.baseAddress!, lda: lda, transposeA: transposeA,
                            b: b.baseAddress!, ldb: ldb, transposeB: transposeB,
                            c: c.baseAddress!, ldc: ldc, alpha: alpha, beta: beta)
                    }
                }
            }
            return result
        }

        /// The worst error divided by its allowed tolerance (must be <= 1), and padding
        /// columns of C must be untouched.
        func worstErrorRatio(_ result: [Float]) -> Double {
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<ldc {
                    let index = i * ldc + j
                    if j >= n {
                        if result[index] != c[index] { return .infinity }
                        continue
                    }
                    var sum = 0.0, magnitude = 0.0
                    for p in 0..<k {
                        let product = Double(opA(i, p)) * Double(opB(p, j))
                        sum += product; magnitude += abs(product)
                    }
                    let old = beta == 0 ? 0 : Double(beta) * Double(c[index])
                    let reference = Double(alpha) * sum + old
                    let tolerance = 1e-5 * (abs(Double(alpha)) * magnitude + abs(old)) + 1e-6
                    worst = max(worst, abs(Double(result[index]) - reference) / tolerance)
                }
            }
            return worst
        }
    }

    static let openBLASPresent = OpenBLAS.library != nil

    /// Shapes chosen to cross every blocking edge: m not a multiple of 6, n not of 32 or 512,
    /// k not of 256, plus vectors (m = 1, n = 1), a dot product, and k = 0.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (7, 5, 3), (6, 32, 256), (13, 33, 257), (37, 70, 19), (65, 530, 300),
        (200, 45, 513), (1, 768, 256), (1, 333, 77), (1, 1, 500), (129, 1, 90), (50, 1, 257),
        (9, 17, 0), (128, 128, 32), (2, 3, 1000),
    ]

    static func checkAllCombinations(_ backend: GEMM.Backend, threads: Int) {
        var seed: UInt64 = 1
        for shape in shapes {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for (alpha, beta, padding) in [(Float(1), Float(0), 0), (-0.5, 0.75, 3)] {
                        seed += 1
                        let problem = Problem(
                            m: shape.m, n: shape.n, k: shape.k,
                            transposeA: transposeA, transposeB: transposeB,
                            alpha: alpha, beta: beta, padding: padding, seed: seed)
                        let ratio = problem.worstErrorRatio(problem.run(backend, threads: threads))
                        #expect(
                            ratio <= 1,
                            Comment(
                                rawValue: "\(backend) \(shape) tA=\(transposeA) tB=\(transposeB) alpha=\(alpha) "
                                    + "beta=\(beta): error \(ratio)x tolerance")
                        )
                    }
                }
            }
        }
    }

    @Test func swiftBackendMatchesReferenceOnOneThread() {
        Self.checkAllCombinations(.swift, threads: 1)
    }

    @Test func swiftBackendMatchesReferenceOnTwoThreads() {
        Self.checkAllCombinations(.swift, threads: 2)
    }

    @Test(.enabled(if: openBLASPresent, "OpenBLAS (libopenblas.so.0) is not installed"))
    func openBLASBackendMatchesReference() {
        Self.checkAllCombinations(.openBLAS, threads: 2)
    }

    /// Each element is summed by one thread in a fixed order, so thread count changes nothing.
    @Test func swiftResultsDoNotDependOnThreadCount() {
        for (m, n, k) in [(300, 260, 600), (1, 4000, 300), (3000, 1, 200), (10, 2000, 64)] {
            let problem = Problem(m: m, n: n, k: k, transposeA: false, transposeB: true, seed: 99)
            let one = problem.run(.swift, threads: 1)
            #expect(one == problem.run(.swift, threads: 2), "\(m)x\(n)x\(k)")
            #expect(one == problem.run(.swift, threads: 3), "\(m)x\(n)x\(k)")
        }
    }

    /// With beta = 0, C is write-only (BLAS semantics): NaN or garbage in C must not leak.
    @Test(arguments: [(5, 40, 7), (1, 50, 20), (40, 1, 20), (3, 4, 0)])
    func betaZeroIgnoresOldC(shape: (Int, Int, Int)) {
        var problem = Problem(
            m: shape.0, n: shape.1, k: shape.2, transposeA: false,
            transposeB: false, seed: 5)
        problem.c = Array(repeating: .nan, count: problem.c.count)
        let result = problem.run(.swift, threads: 1)
        #expect(result.allSatisfy { !$0.isNaN })
        #expect(problem.worstErrorRatio(result) <= 1)
    }

    /// A bias given to GEMM is the same bits as C starting from the bias with beta 1, in every
    /// precision (the 16-bit products add it as they store each tile, C never read: NaN in C
    /// must not leak), on edge tiles and with padded strides.
    @Test(arguments: [GEMM.Precision.float32, .bfloat16, .float16])
    func aBiasEqualsStartingFromItWithBetaOne(precision: GEMM.Precision) {
        for (m, n, k, transposeB) in [(13, 33, 7, false), (40, 70, 64, true), (2, 3, 1, true)] {
            let problem = Problem(m: m, n: n, k: k, transposeA: false, transposeB: transposeB, padding: 3, seed: 12)
            var random = SeededGenerator(seed: 13)
            let bias = (0..<n).map { _ in random.nextNormal() }
            func product(into c: inout [Float], beta: Float, bias: UnsafePointer<Float>?) {
                GEMM.multiply(
                    in: precision, using: .swift, threads: 2, m: m, n: n, k: k, a: problem.a, lda: problem.lda,
                    b: problem.b, ldb: problem.ldb, transposeB: transposeB, c: &c, ldc: problem.ldc, beta: beta,
                    bias: bias)
            }
            var fused = [Float](repeating: .nan, count: problem.c.count), started = problem.c
            for r in 0..<m { for j in 0..<n { started[r * problem.ldc + j] = bias[j] } }
            product(into: &fused, beta: 0, bias: bias)
            product(into: &started, beta: 1, bias: nil)
            for r in 0..<m {
                let row = r * problem.ldc
                #expect(
                    Array(fused[row..<(row + n)]) == Array(started[row..<(row + n)]),
                    "\(precision) \(m)x\(n)x\(k) row \(r)")
            }
        }
    }

    /// A rectified product is Swift's `max(0, ·)` of the same product, bit for bit, in every
    /// precision (the 16-bit products apply it as they store each tile), with and without a bias.
    @Test(arguments: [GEMM.Precision.float32, .bfloat16, .float16])
    func aRectifiedProductIsTheMaximumWithZero(precision: GEMM.Precision) {
        for (m, n, k) in [(13, 33, 7), (40, 70, 64)] {
            let problem = Problem(m: m, n: n, k: k, transposeA: false, transposeB: true, padding: 1, seed: 31)
            var random = SeededGenerator(seed: 32)
            let bias = (0..<n).map { _ in random.nextNormal() }
            for withBias in [false, true] {
                var plain = problem.c, rectified = problem.c
                bias.withUnsafeBufferPointer { biasBuffer in
                    func run(_ c: inout [Float], rectify: Bool) {
                        GEMM.multiply(
                            in: precision, using: .swift, threads: 2, m: m, n: n, k: k, a: problem.a,
                            lda: problem.lda, b: problem.b, ldb: problem.ldb, transposeB: true, c: &c,
                            ldc: problem.ldc, bias: withBias ? biasBuffer.baseAddress : nil, rectified: rectify)
                    }
                    run(&plain, rectify: false)
                    run(&rectified, rectify: true)
                }
                var negatives = 0
                for r in 0..<m {
                    for j in 0..<n {
                        let v = plain[r * problem.ldc + j]
                        negatives += v < 0 ? 1 : 0
                        #expect(rectified[r * problem.ldc + j].bitPattern == Swift.max(0, v).bitPattern)
                    }
                }
                #expect(negatives > m * n / 4, "too few negative outputs to test the rectifier")
            }
        }
    }

    /// The lane sums GEMM adds (op(A)'s rows, op(B)'s columns, over the depth) are the plain
    /// loop's, one addition at a time in depth order, bit for bit, in every precision and layout,
    /// on 1 and 3 threads; the float16 product finds them while scaling its operands, where a
    /// lane past the first 32 or a skipped lane would show.
    @Test(arguments: [GEMM.Precision.float32, .bfloat16, .float16])
    func laneSumsArePlainSumsInDepthOrder(precision: GEMM.Precision) {
        for (m, n, k) in [(37, 70, 45), (1, 5, 9), (12, 33, 0), (0, 4, 3)] {
            for (transposeA, transposeB) in [(false, false), (true, false), (false, true), (true, true)] {
                let problem = Problem(
                    m: m, n: n, k: k, transposeA: transposeA, transposeB: transposeB, padding: 2, seed: 21)
                func operandA(_ i: Int, _ p: Int) -> Float {
                    transposeA ? problem.a[p * problem.lda + i] : problem.a[i * problem.lda + p]
                }
                func operandB(_ p: Int, _ j: Int) -> Float {
                    transposeB ? problem.b[j * problem.ldb + p] : problem.b[p * problem.ldb + j]
                }
                var expectedA = (0..<m).map { Float($0) * 0.25 }, expectedB = (0..<n).map { -Float($0) * 0.5 }
                for i in 0..<m { for p in 0..<k { expectedA[i] += operandA(i, p) } }
                for j in 0..<n { for p in 0..<k { expectedB[j] += operandB(p, j) } }
                for threads in [1, 3] {
                    var sumsA = (0..<m).map { Float($0) * 0.25 }, sumsB = (0..<n).map { -Float($0) * 0.5 }
                    var c = problem.c
                    GEMM.multiply(
                        in: precision, using: .swift, threads: threads, m: m, n: n, k: k, a: problem.a,
                        lda: problem.lda, transposeA: transposeA, b: problem.b, ldb: problem.ldb,
                        transposeB: transposeB, c: &c, ldc: problem.ldc, sumsOfA: &sumsA, sumsOfB: &sumsB)
                    let shape = "\(precision) \(m)x\(n)x\(k) \(transposeA) \(transposeB) threads \(threads)"
                    #expect(sumsA == expectedA, "\(shape)")
                    #expect(sumsB == expectedB, "\(shape)")
                }
            }
        }
    }

    @Test func tensorOverloadReadsShapes() {
        let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
        let b = Tensor(shape: [2, 3], values: [1, 0, -1, 2, 1, 0])
        let c = Tensor(zeros: [2, 2])
        GEMM.multiply(a, b, transposeB: true, into: c)
        // [1,2,3]·[1,0,-1] = -2, [1,2,3]·[2,1,0] = 4, [4,5,6]·[1,0,-1] = -2, [4,5,6]·[2,1,0] = 13
        #expect(c.values == [-2, 4, -2, 13])
    }

    @Test func forcingAMissingOpenBLASThrows() throws {
        if Self.openBLASPresent {
            try GEMM.use(GEMM.backend)  // a no-op that must not throw
        } else {
            #expect(throws: GEMM.ConfigurationError.self) { try GEMM.use(.openBLAS) }
        }
        #expect(throws: GEMM.ConfigurationError.invalidThreadCount(0)) { try GEMM.setThreadCount(0) }
    }
}

extension GEMMTests {
    /// Callers may run products on several threads at once (attention runs heads in
    /// parallel): both backends must stay correct (OpenBLAS calls are serialized inside).
    @Test func concurrentCallsStayCorrect() {
        let backends = GEMM.Backend.allCases.filter { $0 == .swift || Self.openBLASPresent }
        for backend in backends {
            let problems = (0..<8).map {
                Problem(
                    m: 96, n: 80, k: 130, transposeA: $0 % 2 == 1,
                    transposeB: false, seed: UInt64(200 + $0))
            }
            let results = Locked([[Float]](repeating: [], count: problems.count))
            DispatchQueue.concurrentPerform(iterations: problems.count) { index in
                let result = problems[index].run(backend, threads: 2)
                results.withLock { $0[index] = result }
            }
            let collected = results.withLock { $0 }
            for index in problems.indices {
                #expect(problems[index].worstErrorRatio(collected[index]) <= 1, "\(backend) call \(index)")
            }
        }
    }
}

extension GEMMTests {
    /// The micro-kernel makes its 6x32 tile in one pass (AVX-512) or in two 6x16 halves (AVX2):
    /// the same bits either way, for each way of reading A, with beta 0 (C not read: NaN in C
    /// must not leak) and beta 1.5, into a C wider than the tile.
    @Test(arguments: [Float(0), 1.5])
    func microKernelHalvesEqualTheWholeTile(beta: Float) {
        let depth = 37, lda = 45, ldc = 40
        var random = SeededGenerator(seed: 31)
        let a = (0..<(depth * lda)).map { _ in random.nextNormal() }
        let b = (0..<(depth * 32)).map { _ in random.nextNormal() }
        let c0: [Float] = (0..<(6 * ldc)).map { _ in beta == 0 ? .nan : random.nextNormal() }
        typealias Kernel = (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Bool) -> Void
        let kernels: [(String, Kernel)] = [
            (
                "packed",
                { a, b, c, halves in
                    SwiftGEMM.microKernel(
                        depth: depth, a: a, b: b, c: c, ldc: ldc, alpha: 0.75, beta: beta, inHalves: halves)
                }
            ),
            (
                "row-major A",
                { a, b, c, halves in
                    SwiftGEMM.microKernelRowMajorA(
                        depth: depth, a: a, lda: lda, b: b, c: c, ldc: ldc, alpha: 0.75, beta: beta, inHalves: halves)
                }
            ),
            (
                "transposed A",
                { a, b, c, halves in
                    SwiftGEMM.microKernelTransposedA(
                        depth: depth, a: a, lda: lda, b: b, c: c, ldc: ldc, alpha: 0.75, beta: beta, inHalves: halves)
                }
            ),
        ]
        for (name, kernel) in kernels {
            func run(inHalves: Bool) -> [Float] {
                var c = c0
                a.withUnsafeBufferPointer { a in
                    b.withUnsafeBufferPointer { b in
                        c.withUnsafeMutableBufferPointer {
                            kernel(a.baseAddress!, b.baseAddress!, $0.baseAddress!, inHalves)
                        }
                    }
                }
                return c
            }
            let whole = run(inHalves: false), halves = run(inHalves: true)
            #expect(whole.map(\.bitPattern) == halves.map(\.bitPattern), "\(name)")
            // Columns past the tile are untouched, and the tile holds real numbers.
            for row in 0..<6 {
                #expect(
                    halves[(row * ldc + 32)..<(row * ldc + ldc)].map(\.bitPattern)
                        == c0[(row * ldc + 32)..<(row * ldc + ldc)].map(\.bitPattern), "\(name) row \(row)")
                let tile = halves[(row * ldc)..<(row * ldc + 32)]
                #expect(tile.allSatisfy { $0.isFinite }, "\(name) row \(row)")
            }
        }
    }
}
