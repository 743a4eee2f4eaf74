import TensorKernels

/// Mixed-precision products for training on float16 arithmetic (issue 19): `C = alpha * op(A)
/// op(B) + beta * C` with each row of op(A) and each column of op(B) scaled by a power of two and
/// rounded to float16, each lane's products summed 32 at a time in float16 and those sums added in
/// float32. The weights, gradients and optimiser state stay float32; only the operands of each
/// product are rounded.
///
/// Why: on CPUs with AVX-512 FP16 (Intel Sapphire Rapids and later) `vfmadd231ph` does twice
/// float32's multiply-adds per instruction, while their bfloat16 dot products (`BFloat16GEMM`)
/// run at half float32's rate (docs/benchmarks.md, "Intel Xeon"). Float16 keeps 11 significant
/// bits against bfloat16's 8, so its products err less than bfloat16 autocast's despite the
/// float16 sums; its range is small, hence the scales: each row's and column's largest magnitude
/// is brought into [2^4, 2^5) (exact), so no product or 32-term sum can overflow, and a row of
/// small values (a token's small gradient) keeps its precision beside large ones; the outputs are
/// multiplied back (exact). Entries below 2^-19 of their row's or column's largest fall into
/// float16's subnormals.
///
/// The arithmetic is `Sources/TensorKernels/Float16GEMM.c` (packing shared with `BFloat16GEMM`),
/// on AVX-512 FP16 where the CPU has it, else in a plain loop that gives the same bits, slowly.
public enum Float16GEMM {
    /// How the tiles are computed.
    public enum Path: String, Sendable, CaseIterable {
        /// `vfmadd231ph`: 32 float16 multiply-adds per instruction (Intel Sapphire Rapids and later).
        case avx512FP16 = "avx512-fp16"
        /// Plain arithmetic on the same float16 operands (any CPU): the same bits, slowly.
        case plain
    }

    /// The path for a CPU with these feature flags (as /proc/cpuinfo names them).
    public static func path(forCPUFlags flags: Set<String>) -> Path {
        flags.contains("avx512_fp16") ? .avx512FP16 : .plain
    }

    /// The CPU's best path: AVX-512 FP16 when both /proc/cpuinfo and the CPU itself
    /// (`__builtin_cpu_supports`) report it.
    public static let cpuPath: Path = {
        let fromFlags = path(forCPUFlags: CPUInfo.read().flags)
        return fromFlags == .avx512FP16 && cadenza_cpu_has_avx512fp16() == 1 ? .avx512FP16 : .plain
    }()

    /// The path this process uses: `cpuPath`, unless `CADENZA_FP16_PATH=plain` asks for the plain loop.
    public static let path: Path =
        ProcessEnvironment.value("CADENZA_FP16_PATH")?.lowercased() == "plain" ? .plain : cpuPath

    /// Computes the product (shapes, strides, `bias`, `rectified`, `sumsOfA` and `sumsOfB` as
    /// `GEMM.multiply`), on `threads` threads, on `path` (default: `Float16GEMM.path`; asking for
    /// AVX-512 FP16 on a CPU without it runs the plain loop). Results do not depend on the thread
    /// count or the path.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0, bias: UnsafePointer<Float>? = nil, rectified: Bool = false,
        sumsOfA: UnsafeMutablePointer<Float>? = nil, sumsOfB: UnsafeMutablePointer<Float>? = nil,
        threads: Int = GEMM.threadCount, path: Path = Float16GEMM.path
    ) {
        guard m > 0, n > 0 else {
            if let sumsOfA { LaneSums.addRows(of: a, lda: lda, transposed: transposeA, m: m, k: k, into: sumsOfA) }
            if let sumsOfB { LaneSums.addColumns(of: b, ldb: ldb, transposed: transposeB, k: k, n: n, into: sumsOfB) }
            return
        }
        let usable = path == .avx512FP16 && cadenza_cpu_has_avx512fp16() == 1
        // Scales and their inverses of the rows of op(A), then of the columns of op(B): each
        // packing task finds those of the lanes it packs.
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * (m + n)) { buffer in
            guard let scales = buffer.baseAddress else { return }
            let (rowScales, rowInverses) = (scales, scales + m)
            let (columnScales, columnInverses) = (scales + 2 * m, scales + 2 * m + n)
            SixteenBitProduct.run(
                m: m, n: n, k: k, threads: threads,
                packB: { packed, first, last in
                    cadenza_f16_pack_b(
                        k, n, b, ldb, transposeB ? 1 : 0, columnScales, columnInverses, sumsOfB, packed, first, last)
                },
                packA: { packed, first, last in
                    cadenza_f16_pack_a(
                        m, k, a, lda, transposeA ? 1 : 0, rowScales, rowInverses, sumsOfA, packed, first, last)
                },
                tiles: { packedA, packedB, first, last in
                    cadenza_f16_gemm_packed(
                        packedA, packedB, m, n, k, first, last, rowInverses, columnInverses, c, ldc, alpha, beta,
                        bias, rectified ? 1 : 0, usable ? 1 : 0)
                })
        }
    }
}
