#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// OpenBLAS, loaded at run time with `dlopen` so that the package builds and runs without it.
///
/// Debian's `libopenblas0-pthread` (pulled in by `libopenblas-dev`) installs
/// `libopenblas.so.0` in the multiarch library folder, where `dlopen` finds it by name. Only the
/// 32-bit-integer interface is used (`blasint` = `Int32`), which is what that package exports.
/// `CADENZA_OPENBLAS` may name another file to load (a full path) instead.
public enum OpenBLAS {
    /// File names tried in order when `CADENZA_OPENBLAS` is not set.
    public static let candidateNames = ["libopenblas.so.0", "libopenblas.so"]

    /// The names `library` tries: `CADENZA_OPENBLAS` when set, else `candidateNames`.
    public static var searchedNames: [String] {
        ProcessEnvironment.value("CADENZA_OPENBLAS").map { [$0] } ?? candidateNames
    }

    /// The loaded library, or nil when none of the candidates loads or lacks `cblas_sgemm`.
    public static let library: Library? = {
        for name in searchedNames {
            if let library = Library(fileName: name) { return library }
        }
        return nil
    }()

    /// The functions taken from one loaded OpenBLAS.
    public final class Library: @unchecked Sendable {
        /// `cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)`.
        typealias SGEMM =
            @convention(c) (
                Int32, Int32, Int32, Int32, Int32, Int32,
                Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
                Float, UnsafeMutablePointer<Float>?, Int32
            ) -> Void
        /// `cblas_sgemv(order, trans, M, N, alpha, A, lda, X, incX, beta, Y, incY)`.
        typealias SGEMV =
            @convention(c) (
                Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
            ) -> Void
        typealias SetThreads = @convention(c) (Int32) -> Void
        typealias GetString = @convention(c) () -> UnsafePointer<CChar>?
        typealias GetInt = @convention(c) () -> Int32

        /// The name it was loaded by.
        public let fileName: String
        private let handle: UnsafeMutableRawPointer
        private let sgemmFunction: SGEMM
        /// One call at a time: the pthread build of OpenBLAS 0.3.21 is not safe to enter from
        /// several threads at once (it crashed when attention ran heads in parallel), and it
        /// already spreads one call over all cores, so serializing costs little.
        private let callLock = Locked(())
        private let sgemvFunction: SGEMV?
        private let setThreadsFunction: SetThreads?
        private let configFunction: GetString?
        private let coreNameFunction: GetString?
        private let threadCountFunction: GetInt?

        init?(fileName: String) {
            guard let handle = dlopen(fileName, RTLD_NOW | RTLD_LOCAL) else { return nil }
            // The wheels numpy/scipy build on (`scipy-openblas32` on PyPI) export the same
            // 32-bit-integer functions with a `scipy_` prefix; accepting it lets
            // CADENZA_OPENBLAS point at the very library numpy runs, for like-for-like benchmarks.
            let prefix =
                dlsym(handle, "cblas_sgemm") == nil && dlsym(handle, "scipy_cblas_sgemm") != nil
                ? "scipy_" : ""
            func symbol<F>(_ name: String, as type: F.Type) -> F? {
                guard let address = dlsym(handle, prefix + name) else { return nil }
                return unsafeBitCast(address, to: type)
            }
            guard let sgemm = symbol("cblas_sgemm", as: SGEMM.self) else {
                dlclose(handle)
                return nil
            }
            self.fileName = fileName
            self.handle = handle
            self.sgemmFunction = sgemm
            self.sgemvFunction = symbol("cblas_sgemv", as: SGEMV.self)
            self.setThreadsFunction = symbol("openblas_set_num_threads", as: SetThreads.self)
            self.configFunction = symbol("openblas_get_config", as: GetString.self)
            self.coreNameFunction = symbol("openblas_get_corename", as: GetString.self)
            self.threadCountFunction = symbol("openblas_get_num_threads", as: GetInt.self)
        }

        /// OpenBLAS's build description (`openblas_get_config`), e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ...".
        public var configuration: String? { configFunction?().map { String(cString: $0) } }
        /// The CPU kernel set OpenBLAS chose (`openblas_get_corename`), e.g. "Haswell".
        /// `OPENBLAS_CORETYPE` in the environment overrides its own detection.
        public var coreName: String? { coreNameFunction?().map { String(cString: $0) } }
        /// OpenBLAS's own thread count.
        public var threadCount: Int? { threadCountFunction.map { Int($0()) } }

        /// Sets OpenBLAS's thread count (global to the process).
        func setThreads(_ count: Int) {
            setThreadsFunction?(Int32(clamping: count))
        }

        /// Row-major `cblas_sgemm`; dimensions must fit in `Int32`. A product with one row or
        /// one column goes to `cblas_sgemv` instead, as numpy does: OpenBLAS's sgemm handles
        /// m = 1 far slower than its sgemv (measured: docs/benchmarks.md).
        func sgemm(
            m: Int, n: Int, k: Int,
            a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
            b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
            c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
        ) {
            precondition(
                max(m, n, k, lda, ldb, ldc) <= Int(Int32.max),
                "GEMM dimensions exceed OpenBLAS's 32-bit interface")
            callLock.withLock { _ in
                call(
                    m: m, n: n, k: k, a: a, lda: lda, transposeA: transposeA, b: b, ldb: ldb,
                    transposeB: transposeB, c: c, ldc: ldc, alpha: alpha, beta: beta)
            }
        }

        private func call(
            m: Int, n: Int, k: Int,
            a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
            b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
            c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float
        ) {
            let rowMajor: Int32 = 101, noTranspose: Int32 = 111, transpose: Int32 = 112
            if let sgemv = sgemvFunction, k > 0, m == 1 || n == 1 {
                if m == 1 {
                    // c[0, :] = op(B)^T · op(A)[0, :]; B stored [k, n] needs its transpose.
                    sgemv(
                        rowMajor, transposeB ? noTranspose : transpose,
                        Int32(transposeB ? n : k), Int32(transposeB ? k : n), alpha, b, Int32(ldb),
                        a, Int32(transposeA ? lda : 1), beta, c, 1)
                } else {
                    // c[:, 0] = op(A) · op(B)[:, 0]
                    sgemv(
                        rowMajor, transposeA ? transpose : noTranspose,
                        Int32(transposeA ? k : m), Int32(transposeA ? m : k), alpha, a, Int32(lda),
                        b, Int32(transposeB ? 1 : ldb), beta, c, Int32(ldc))
                }
                return
            }
            sgemmFunction(
                rowMajor, transposeA ? transpose : noTranspose,
                transposeB ? transpose : noTranspose,
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                beta, c, Int32(ldc))
        }
    }
}
