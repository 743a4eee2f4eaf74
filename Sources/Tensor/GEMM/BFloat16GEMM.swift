import TensorKernels

/// Mixed-precision products for training (issue 19): `C = alpha * op(A) op(B) + beta * C` with
/// A and B rounded to bfloat16 and every product summed in float32, as PyTorch's bfloat16
/// autocast computes a matrix product. The weights, gradients and optimiser state stay float32;
/// only the operands of each product are rounded.
///
/// The arithmetic is `Sources/TensorKernels/BFloat16GEMM.c`: both operands packed as bfloat16
/// pairs (A in panels of 12 rows, B in panels of 32 columns), then 12 x 32 tiles of C, each on
/// AVX-512 BF16 (`vdpbf16ps`) where the CPU has it, else in a plain loop that sums in the same
/// order. The path is chosen at run time from the CPU, so one build serves every machine.
public enum BFloat16GEMM {
    /// How the tiles are computed.
    public enum Path: String, Sendable, CaseIterable {
        /// `vdpbf16ps`: 32 bfloat16 multiply-adds into 16 float32 sums per instruction
        /// (AMD Zen 4 and later, Intel Cooper Lake and Sapphire Rapids and later).
        case avx512BF16 = "avx512-bf16"
        /// Plain float32 arithmetic on the same bfloat16 operands (any CPU): the same bits, slowly.
        case plain
    }

    /// The path for a CPU with these feature flags (as /proc/cpuinfo names them).
    public static func path(forCPUFlags flags: Set<String>) -> Path {
        flags.contains("avx512_bf16") ? .avx512BF16 : .plain
    }

    /// The CPU's best path: AVX-512 BF16 only when both /proc/cpuinfo and the CPU itself
    /// (`__builtin_cpu_supports`) report it.
    public static let cpuPath: Path = {
        let fromFlags = path(forCPUFlags: CPUInfo.read().flags)
        return fromFlags == .avx512BF16 && cadenza_cpu_has_avx512bf16() == 1 ? .avx512BF16 : .plain
    }()

    /// The path this process uses: `cpuPath`, unless `CADENZA_BF16_PATH=plain` asks for the plain loop.
    public static let path: Path =
        ProcessEnvironment.value("CADENZA_BF16_PATH")?.lowercased() == "plain" ? .plain : cpuPath

    /// Computes the product (shapes, strides, `bias` and `rectified` as `GEMM.multiply`), on
    /// `threads` threads, on `path` (default: `BFloat16GEMM.path`; asking for AVX-512 BF16 on a
    /// CPU without it runs the plain loop). Results do not depend on the thread count: each tile
    /// is summed by one thread in one order.
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0, bias: UnsafePointer<Float>? = nil, rectified: Bool = false,
        threads: Int = GEMM.threadCount, path: Path = BFloat16GEMM.path
    ) {
        let usable = path == .avx512BF16 && cadenza_cpu_has_avx512bf16() == 1
        SixteenBitProduct.run(
            m: m, n: n, k: k, threads: threads,
            packB: { packed, first, last in
                cadenza_bf16_pack_b(k, n, b, ldb, transposeB ? 1 : 0, packed, first, last)
            },
            packA: { packed, first, last in
                cadenza_bf16_pack_a(m, k, a, lda, transposeA ? 1 : 0, packed, first, last)
            },
            tiles: { packedA, packedB, first, last in
                cadenza_bf16_gemm_packed(
                    packedA, packedB, m, n, k, first, last, c, ldc, alpha, beta, bias, rectified ? 1 : 0,
                    usable ? 1 : 0)
            })
    }

    /// `x` rounded to bfloat16 and widened back: the value the products read.
    public static func rounded(_ x: Float) -> Float {
        Float(bitPattern: UInt32(cadenza_bf16_round(x)) << 16)
    }
}

/// The driver both 16-bit products share (`BFloat16GEMM`, `Float16GEMM`): both operands packed
/// as pairs of depths (A in panels of 12 rows, B in panels of 32 columns, by the C kernels), then
/// the rows of C in 12 x 32 tiles, spread over threads by row panels.
enum SixteenBitProduct {
    /// Packs panels `first..<last` into the operand's buffer.
    typealias Pack = (UnsafeMutablePointer<UInt16>, Int, Int) -> Void
    /// Computes the tiles of row panels `first..<last` from the packed A and B.
    typealias Tiles = (UnsafePointer<UInt16>, UnsafePointer<UInt16>, Int, Int) -> Void

    /// Tasks per thread in each phase (packing B; packing A and computing C).
    static let tasksPerThread = 4

    /// Runs the product of op(A) [m, k] and op(B) [k, n] on `threads` threads. Results do not
    /// depend on the thread count: each tile is summed by one thread in one order.
    static func run(m: Int, n: Int, k: Int, threads: Int, packB: Pack, packA: Pack, tiles: Tiles) {
        precondition(m >= 0 && n >= 0 && k >= 0, "negative GEMM dimension m=\(m) n=\(n) k=\(k)")
        if m == 0 || n == 0 { return }
        let k2 = (k + 1) / 2, rowPanels = (m + 11) / 12, columnPanels = (n + 31) / 32
        // Both packed operands in one reused scratch buffer (B at a 64-byte boundary after A): a
        // fresh allocation of megabytes per product is mapped and page-faulted every time.
        let sizeA = (rowPanels * k2 * 24 + 31) / 32 * 32, sizeB = columnPanels * k2 * 64
        let parallel = threads > 1 && m * n * k >= SwiftGEMM.parallelThreshold
        // B is packed by all tasks (each its share of the column panels), then each task packs
        // its own row panels of A and computes their rows of C. There are more tasks than threads,
        // claimed as threads come free: with one task per thread, a thread that fell behind (a
        // busy core, a pause of the virtual machine) left the others waiting on it. Each tile is
        // still summed by one thread in one order, so results do not depend on who claims what.
        func spread(_ count: Int, _ body: (Int, Int) -> Void) {
            let tasks = parallel ? min(count, threads * Self.tasksPerThread) : 1
            let per = (count + tasks - 1) / tasks
            WorkerPool.shared.run(tasks: (count + per - 1) / per) { task in
                let first = task * per, last = min(count, first + per)
                if first < last { body(first, last) }
            }
        }
        Scratch.withBuffer((sizeA + sizeB) / 2) { scratch in
            scratch.withMemoryRebound(to: UInt16.self, capacity: sizeA + sizeB) { packedA in
                let packedB = packedA + sizeA
                spread(columnPanels) { first, last in packB(packedB, first, last) }
                spread(rowPanels) { first, last in
                    packA(packedA, first, last)
                    tiles(packedA, packedB, first, last)
                }
            }
        }
    }
}
