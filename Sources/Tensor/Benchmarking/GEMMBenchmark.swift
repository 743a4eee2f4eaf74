/// One GEMM problem shape to measure: `op(A)` is [m, k], `op(B)` is [k, n].
public struct GEMMShape: Sendable, CustomStringConvertible {
    /// Rows of op(A) and C.
    public var m: Int
    /// Columns of op(B) and C.
    public var n: Int
    /// The summed dimension.
    public var k: Int
    /// A is stored [k, m].
    public var transposeA: Bool
    /// B is stored [n, k].
    public var transposeB: Bool
    /// What the shape stands for in the models (empty for plain squares).
    public var role: String

    /// Creates a shape.
    public init(
        m: Int, n: Int, k: Int, transposeA: Bool = false, transposeB: Bool = false,
        role: String = ""
    ) {
        self.m = m; self.n = n; self.k = k
        self.transposeA = transposeA; self.transposeB = transposeB; self.role = role
    }

    /// Floating-point operations of one product (a multiply-add counts as 2).
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

    /// "[m x k]^T x [k x n]" style, marking which operand is transposed.
    public var description: String {
        "[\(m)x\(k)]\(transposeA ? "^T" : "") x [\(k)x\(n)]\(transposeB ? "^T" : "")"
    }

    /// The shapes `cadenza-bench gemm` reports: squares, the `small` model's projections
    /// (2048 = 16 segments x 128 tokens of d_model 256, inner 1024), their weight-gradient
    /// products, one attention head, and batch-1 generation's matrix-vector products with the
    /// weight stored both ways.
    public static let benchmarkShapes: [GEMMShape] = [
        GEMMShape(m: 256, n: 256, k: 256),
        GEMMShape(m: 512, n: 512, k: 512),
        GEMMShape(m: 1024, n: 1024, k: 1024),
        GEMMShape(m: 2048, n: 2048, k: 2048),
        GEMMShape(m: 2048, n: 768, k: 256, role: "QKV projection"),
        GEMMShape(m: 2048, n: 256, k: 1024, role: "FFN down"),
        GEMMShape(m: 2048, n: 1024, k: 256, role: "FFN up"),
        GEMMShape(m: 256, n: 1024, k: 2048, transposeA: true, role: "FFN up weight gradient"),
        GEMMShape(m: 2048, n: 256, k: 1024, transposeB: true, role: "FFN up input gradient"),
        GEMMShape(m: 128, n: 128, k: 32, transposeB: true, role: "attention scores, one head"),
        GEMMShape(m: 1, n: 768, k: 256, role: "matvec QKV, W [in,out]"),
        GEMMShape(m: 1, n: 768, k: 256, transposeB: true, role: "matvec QKV, W [out,in]"),
        GEMMShape(m: 1, n: 1024, k: 256, role: "matvec FFN up"),
        GEMMShape(m: 1, n: 256, k: 1024, role: "matvec FFN down"),
        GEMMShape(m: 1, n: 256, k: 1024, transposeB: true, role: "matvec FFN down, W [out,in]"),
    ]
}

/// Times GEMM products (used by `cadenza-bench gemm` and `cadenza doctor`).
///
/// Measurement support, not product code: nothing in the tensor engine calls it. It stays in
/// the module, beside `GEMMShape`, only because the command line times products through it;
/// the figures it produced are in docs/benchmarks.md and docs/tensor-gemm.md.
public enum GEMMBenchmark {
    /// Operands for one shape, filled with seeded normal values, kept alive while measured.
    public final class Operands {
        /// The shape these operands fit.
        public let shape: GEMMShape
        let a: Tensor, b: Tensor, c: Tensor

        /// Allocates and fills operands for `shape`.
        public init(_ shape: GEMMShape, seed: UInt64 = 1) {
            self.shape = shape
            var random = SeededGenerator(seed: seed)
            a = Tensor(zeros: shape.transposeA ? [shape.k, shape.m] : [shape.m, shape.k])
            b = Tensor(zeros: shape.transposeB ? [shape.n, shape.k] : [shape.k, shape.n])
            c = Tensor(zeros: [shape.m, shape.n])
            for i in 0..<a.count { a[i] = random.nextNormal() }
            for i in 0..<b.count { b[i] = random.nextNormal() }
        }

        /// One product, C = A·B, in `precision` (`GEMM.multiply(in:using:threads:...)`): float32 on
        /// `backend`, or a mixed-precision product on its run-time path.
        public func multiply(
            in precision: GEMM.Precision = .float32, using backend: GEMM.Backend = .swift, threads: Int
        ) {
            GEMM.multiply(
                in: precision, using: backend, threads: threads, m: shape.m, n: shape.n, k: shape.k,
                a: a.pointer, lda: a.shape[1], transposeA: shape.transposeA,
                b: b.pointer, ldb: b.shape[1], transposeB: shape.transposeB,
                c: c.pointer, ldc: shape.n)
        }
    }

    /// GFLOP/s of repeated products in `precision` (float32 on `backend`, or a mixed-precision
    /// product): one warm-up, then as many products as fit in `minimumSeconds` (at least one),
    /// timed together.
    public static func gigaflops(
        _ operands: Operands, in precision: GEMM.Precision = .float32, backend: GEMM.Backend = .swift, threads: Int,
        minimumSeconds: Double = 0.1
    ) -> Double {
        gigaflops(of: operands.shape, minimumSeconds: minimumSeconds) {
            operands.multiply(in: precision, using: backend, threads: threads)
        }
    }

    /// GFLOP/s of `product`, one product of `shape`: one warm-up call, then timed calls.
    private static func gigaflops(of shape: GEMMShape, minimumSeconds: Double, _ product: () -> Void) -> Double {
        product()
        return shape.flops * callsPerSecond(minimumSeconds: minimumSeconds, product) / 1e9
    }

    /// Calls of `body` per second: as many calls as fit in `minimumSeconds` (at least one),
    /// timed together. No warm-up: the caller does its own.
    public static func callsPerSecond(minimumSeconds: Double, _ body: () -> Void) -> Double {
        let clock = ContinuousClock()
        let start = clock.now
        var iterations = 0
        var elapsed = 0.0
        repeat {
            body()
            iterations += 1
            let duration = clock.now - start
            elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
        } while elapsed < minimumSeconds
        return Double(iterations) / elapsed
    }

    /// The median of some figures (the mean of the middle two for an even count).
    public static func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
