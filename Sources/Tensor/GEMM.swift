/// Single-precision general matrix multiply, row-major:
/// `C = alpha * op(A) * op(B) + beta * C`, with `op(A)` of shape [m, k] and `op(B)` [k, n].
///
/// `lda`, `ldb`, `ldc` are the row strides (in elements) of A, B and C as stored; with
/// `transposeA` A is stored [k, m], with `transposeB` B is stored [n, k] (as `cblas_sgemm`
/// with `CblasRowMajor`). This is the one entry point every kernel calls; it dispatches to
/// OpenBLAS when loaded, else to the pure-Swift kernel.
public enum GEMM {
    /// Computes `C = alpha * op(A) * op(B) + beta * C`.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        // Placeholder naive implementation; replaced by the blocked SIMD kernel and OpenBLAS.
        for i in 0..<m {
            for j in 0..<n {
                var sum: Float = 0
                for p in 0..<k {
                    let av = transposeA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transposeB ? b[j * ldb + p] : b[p * ldb + j]
                    sum += av * bv
                }
                c[i * ldc + j] = alpha * sum + (beta == 0 ? 0 : beta * c[i * ldc + j])
            }
        }
    }
}
