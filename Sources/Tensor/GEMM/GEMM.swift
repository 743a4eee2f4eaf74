#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Single-precision general matrix multiply, row-major:
/// `C = alpha * op(A) * op(B) + beta * C`, with `op(A)` of shape [m, k] and `op(B)` [k, n].
///
/// `lda`, `ldb`, `ldc` are the row strides (in elements) of A, B and C as stored; with
/// `transposeA` A is stored [k, m], with `transposeB` B is stored [n, k] (as `cblas_sgemm`
/// with `CblasRowMajor`). This is the one entry point every kernel calls. It dispatches to the
/// backend chosen once per process (`GEMM.backend`): `CADENZA_GEMM` when set, else the
/// pure-Swift kernel on CPUs with AVX-512 (where it outruns the OpenBLAS Debian ships, see
/// docs/tensor-gemm.md), else OpenBLAS when it loads, else the pure-Swift kernel.
///
/// When `beta` is 0, C is only written, never read (NaNs in C do not propagate), as in BLAS.
/// Results are deterministic for a given shape and backend, whatever the thread count: each
/// element of C is summed by one thread in a fixed order. The two backends (and, in the Swift
/// backend, the matrix-vector path for m = 1 or n = 1 versus the blocked path) sum in different
/// orders, so they agree to rounding (about 1e-6 relative per unit of sqrt(k)), not bit for bit.
public enum GEMM {
    /// Which implementation computes the product.
    public enum Backend: String, CaseIterable, Sendable, CustomStringConvertible {
        /// The packed, cache-blocked `SIMD16<Float>` kernel in this module (always available).
        case swift
        /// `cblas_sgemm` from a `libopenblas` found at run time with `dlopen`.
        case openBLAS = "openblas"

        public var description: String {
            switch self {
            case .swift:
                return SwiftGEMM.wholeTileFitsRegisters
                    ? "pure Swift (packed 6x32 SIMD16 kernel)"
                    : "pure Swift (packed 6x32 SIMD16 kernel, in 6x16 halves: no AVX-512)"
            case .openBLAS: return "OpenBLAS (cblas_sgemm)"
            }
        }
    }

    /// Why a backend or thread count could not be selected.
    public enum ConfigurationError: Error, CustomStringConvertible, Equatable {
        /// OpenBLAS was requested but no `libopenblas.so.0` / `libopenblas.so` could be loaded.
        case openBLASNotFound(tried: [String])
        /// `CADENZA_GEMM` held a value that names no backend.
        case unknownBackend(String)
        /// A thread count below 1 was requested.
        case invalidThreadCount(Int)
        /// `CADENZA_THREADS` held something other than a whole number in 1...`maximumThreads`.
        case invalidThreadEnvironment(String)

        public var description: String {
            switch self {
            case .openBLASNotFound(let tried):
                return "OpenBLAS is not installed (tried \(tried.joined(separator: ", "))); "
                    + "install it with `apt-get install libopenblas0-pthread` (or libopenblas-dev), "
                    + "or use the pure-Swift backend"
            case .unknownBackend(let name):
                return "unknown GEMM backend '\(name)'; use one of: swift, openblas, auto"
            case .invalidThreadCount(let count):
                return "GEMM thread count must be at least 1, got \(count)"
            case .invalidThreadEnvironment(let text):
                return
                    "\(GEMM.threadsEnvironmentVariable) must be a whole number of at least 1 and at most "
                    + "\(GEMM.maximumThreads), got '\(text)'"
            }
        }
    }

    /// Environment variable that forces the backend: `swift`, `openblas` or `auto` (default:
    /// Swift on AVX-512 CPUs, else OpenBLAS when it loads, else Swift).
    public static let backendEnvironmentVariable = "CADENZA_GEMM"
    /// Environment variable that sets the thread count (default: the number of active cores).
    public static let threadsEnvironmentVariable = "CADENZA_THREADS"
    /// The most threads `CADENZA_THREADS` or a command's `--threads` may ask for.
    public static let maximumThreads = 1024

    /// The backend `multiply` uses: `CADENZA_GEMM` when set, else `automaticBackend`.
    public static var backend: Backend {
        get { settings.withLock { $0.backend } }
    }

    /// The arithmetic of the products `multiply` computes (see `setPrecision`).
    public enum Precision: String, Codable, CaseIterable, Sendable {
        /// float32 operands and sums.
        case float32
        /// Operands rounded to bfloat16, sums in float32 (`BFloat16GEMM`): mixed-precision training.
        case bfloat16 = "bf16"
        /// Operands scaled and rounded to float16, sums of 32 in float16 then float32
        /// (`Float16GEMM`): mixed-precision training where the CPU has AVX-512 FP16.
        case float16 = "fp16"
    }

    /// The precision `multiply` computes products with on the calling thread (default float32).
    public static var precision: Precision {
        switch Int(bitPattern: pthread_getspecific(precisionKey)) {
        case 1: .bfloat16
        case 2: .float16
        default: .float32
        }
    }

    /// Makes every later `multiply` called from this thread with more than one row and column
    /// compute in `precision` (matrix-vector products stay float32). Per thread, so that one
    /// training run's choice cannot reach another computation in the same process (tests run
    /// side by side); the product itself may still use every worker thread. Training sets it
    /// for its updates and back to float32 for validation.
    public static func setPrecision(_ newPrecision: Precision) {
        let tag =
            switch newPrecision {
            case .float32: 0
            case .bfloat16: 1
            case .float16: 2
            }
        pthread_setspecific(precisionKey, UnsafeRawPointer(bitPattern: tag))
    }

    private static let precisionKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    /// The number of threads a large product uses (both backends). At least 1.
    public static var threadCount: Int {
        get { settings.withLock { $0.threads } }
    }

    /// A problem with the environment variables, found when the settings were first read
    /// (the default was used instead); `cadenza doctor` shows it.
    public static var environmentProblem: ConfigurationError? {
        settings.withLock { $0.environmentProblem }
    }

    /// Selects the backend for every later `multiply`. Throws when OpenBLAS is asked for and
    /// cannot be loaded.
    public static func use(_ newBackend: Backend) throws {
        if newBackend == .openBLAS, OpenBLAS.library == nil {
            throw ConfigurationError.openBLASNotFound(tried: OpenBLAS.searchedNames)
        }
        settings.withLock { $0.backend = newBackend }
    }

    /// Sets the number of threads large products use, OpenBLAS's own thread count and the
    /// other kernels' (`Parallel.threadCount`): the one knob behind every `--threads` flag.
    public static func setThreadCount(_ count: Int) throws {
        guard count >= 1 else { throw ConfigurationError.invalidThreadCount(count) }
        settings.withLock { $0.threads = count }
        OpenBLAS.library?.setThreads(count)
        Parallel.threadCount = count
    }

    /// Computes `C = alpha * op(A) * op(B) + beta * C` with the selected backend (`bias`, `rectified`
    /// and the lane sums as the next `multiply` says).
    public static func multiply(
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0, bias: UnsafePointer<Float>? = nil, rectified: Bool = false,
        sumsOfA: UnsafeMutablePointer<Float>? = nil, sumsOfB: UnsafeMutablePointer<Float>? = nil
    ) {
        let (selected, threads) = settings.withLock { ($0.backend, $0.threads) }
        multiply(
            in: m > 1 && n > 1 ? precision : .float32, using: selected, threads: threads, m: m, n: n, k: k,
            a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
            c: c, ldc: ldc, alpha: alpha, beta: beta, bias: bias, rectified: rectified, sumsOfA: sumsOfA,
            sumsOfB: sumsOfB)
    }

    /// Computes `C = alpha * op(A) * op(B) + beta * C` in `precision`: float32 on `backend`, or
    /// the mixed-precision product (`BFloat16GEMM`, `Float16GEMM`) on its run-time path.
    /// `bias` [n], where given (only with `beta` 0), is added to every row of C: the value is
    /// that of C starting from the bias with `beta` 1, which is how the float32 path computes
    /// it, while the 16-bit products add it as they store each tile (C is then written once,
    /// never read). `rectified`: each output v of C stored as max(0, v) (a ReLU after the
    /// product and bias; the 16-bit products as they store each tile, the float32 path after).
    /// `sumsOfA` [m] and `sumsOfB` [n], where given, get each row of op(A) and each
    /// column of op(B) summed over the depth added into them (`LaneSums`: a Linear layer's bias
    /// gradient), the same bits in every precision; the float16 product finds them in its pass
    /// over the operands.
    public static func multiply(
        in precision: Precision, using backend: Backend, threads: Int,
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0, bias: UnsafePointer<Float>? = nil, rectified: Bool = false,
        sumsOfA: UnsafeMutablePointer<Float>? = nil, sumsOfB: UnsafeMutablePointer<Float>? = nil
    ) {
        precondition(bias == nil || beta == 0, "a GEMM bias is added to a C that is not read (beta 0)")
        if precision != .float16 {  // (the float16 product adds them itself)
            if let sumsOfA { LaneSums.addRows(of: a, lda: lda, transposed: transposeA, m: m, k: k, into: sumsOfA) }
            if let sumsOfB {
                LaneSums.addColumns(of: b, ldb: ldb, transposed: transposeB, k: k, n: n, into: sumsOfB)
            }
        }
        switch precision {
        case .float32:
            if let bias {
                Parallel.forEachRange(m, minimumChunk: Swift.max(1, (1 << 14) / Swift.max(1, n))) { range in
                    for r in range { (c + r * ldc).update(from: bias, count: n) }
                }
            }
            multiply(
                using: backend, threads: threads, m: m, n: n, k: k,
                a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
                c: c, ldc: ldc, alpha: alpha, beta: bias == nil ? beta : 1)
            if rectified {
                Parallel.forEachRange(m, minimumChunk: Swift.max(1, (1 << 15) / Swift.max(1, n))) { range in
                    for r in range {
                        let row = c + r * ldc
                        for j in 0..<n { row[j] = Swift.max(0, row[j]) }
                    }
                }
            }
        case .bfloat16:
            BFloat16GEMM.multiply(
                m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
                c: c, ldc: ldc, alpha: alpha, beta: beta, bias: bias, rectified: rectified, threads: threads)
        case .float16:
            Float16GEMM.multiply(
                m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb, transposeB: transposeB,
                c: c, ldc: ldc, alpha: alpha, beta: beta, bias: bias, rectified: rectified, sumsOfA: sumsOfA,
                sumsOfB: sumsOfB, threads: threads)
        }
    }

    /// Computes `C = alpha * op(A) * op(B) + beta * C` with an explicit backend and thread
    /// count (for tests, benchmarks, and callers that already run on several threads and want
    /// `threads: 1`). The OpenBLAS backend falls back to Swift when OpenBLAS is not loaded;
    /// OpenBLAS ignores `threads` (its count is global, set by `setThreadCount`).
    public static func multiply(
        using backend: Backend, threads: Int,
        m: Int, n: Int, k: Int,
        a: UnsafePointer<Float>, lda: Int, transposeA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transposeB: Bool = false,
        c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float = 1, beta: Float = 0
    ) {
        precondition(m >= 0 && n >= 0 && k >= 0, "negative GEMM dimension m=\(m) n=\(n) k=\(k)")
        precondition(lda >= max(1, transposeA ? m : k), "lda \(lda) too small")
        precondition(ldb >= max(1, transposeB ? k : n), "ldb \(ldb) too small")
        precondition(ldc >= max(1, n), "ldc \(ldc) too small")
        if m == 0 || n == 0 { return }
        if backend == .openBLAS, let blas = OpenBLAS.library {
            blas.sgemm(
                m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA,
                b: b, ldb: ldb, transposeB: transposeB, c: c, ldc: ldc,
                alpha: alpha, beta: beta)
            return
        }
        let operands = GEMMOperands(
            m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA,
            b: b, ldb: ldb, transposeB: transposeB, c: c, ldc: ldc,
            alpha: alpha, beta: beta)
        SwiftGEMM.run(operands, threads: max(1, threads))
    }

    /// Convenience: `C = alpha * op(A) * op(B) + beta * C` on contiguous 2-D tensors, with the
    /// dimensions read from the shapes.
    public static func multiply(
        _ a: Tensor, transposeA: Bool = false,
        _ b: Tensor, transposeB: Bool = false,
        into c: Tensor, alpha: Float = 1, beta: Float = 0
    ) {
        precondition(
            a.shape.count == 2 && b.shape.count == 2 && c.shape.count == 2,
            "GEMM.multiply(tensors) needs 2-D tensors")
        let m = transposeA ? a.shape[1] : a.shape[0], k = transposeA ? a.shape[0] : a.shape[1]
        let n = transposeB ? b.shape[0] : b.shape[1]
        precondition((transposeB ? b.shape[1] : b.shape[0]) == k, "inner dimensions differ")
        precondition(c.shape == [m, n], "C has shape \(c.shape), expected [\(m), \(n)]")
        multiply(
            m: m, n: n, k: k, a: a.pointer, lda: a.shape[1], transposeA: transposeA,
            b: b.pointer, ldb: b.shape[1], transposeB: transposeB,
            c: c.pointer, ldc: n, alpha: alpha, beta: beta)
    }

    /// The backend chosen when `CADENZA_GEMM` is unset or `auto`: the Swift kernel where it
    /// gets 512-bit registers (where it was measured faster than Debian's OpenBLAS at every
    /// shape: docs/benchmarks.md, section Tensor GEMM), else OpenBLAS when it loads, else
    /// Swift. Fixed per machine, never chosen by timing, so results do not change from run to run.
    public static var automaticBackend: Backend {
        if CPUInfo.read().flags.contains("avx512f") || OpenBLAS.library == nil { return .swift }
        return .openBLAS
    }

    // MARK: settings

    private struct Settings {
        var backend: Backend
        var threads: Int
        var environmentProblem: ConfigurationError?
    }

    private static let settings: Locked<Settings> = {
        let environment = ProcessEnvironment.self
        var problem: ConfigurationError?
        var threads = ProcessEnvironment.activeCores
        // Empty means unset, as for CADENZA_GEMM; the upper bound is the command line's.
        if let text = environment.value(threadsEnvironmentVariable), !text.isEmpty {
            if let value = Int(text), (1...maximumThreads).contains(value) {
                threads = value
            } else {
                problem = .invalidThreadEnvironment(text)
            }
        }
        let available = OpenBLAS.library != nil
        var backend = automaticBackend
        switch environment.value(backendEnvironmentVariable)?.lowercased() {
        case nil, "", "auto": break
        case "swift": backend = .swift
        case "openblas":
            if available {
                backend = .openBLAS
            } else {
                problem = .openBLASNotFound(tried: OpenBLAS.searchedNames)
            }
        case let other?: problem = .unknownBackend(other)
        }
        OpenBLAS.library?.setThreads(threads)
        return Locked(Settings(backend: backend, threads: threads, environmentProblem: problem))
    }()
}

/// The operands of one product, passed down to the Swift kernels as one value.
struct GEMMOperands {
    var m: Int, n: Int, k: Int
    var a: UnsafePointer<Float>, lda: Int, transposeA: Bool
    var b: UnsafePointer<Float>, ldb: Int, transposeB: Bool
    var c: UnsafeMutablePointer<Float>, ldc: Int
    var alpha: Float, beta: Float
}
