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
        typealias SGEMM = @convention(c) (
            Int32, Int32, Int32, Int32, Int32, Int32,
            Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
            Float, UnsafeMutablePointer<Float>?, Int32) -> Void
        typealias SetThreads = @convention(c) (Int32) -> Void
        typealias GetString = @convention(c) () -> UnsafePointer<CChar>?
        typealias GetInt = @convention(c) () -> Int32

        /// The name it was loaded by.
        public let fileName: String
        private let handle: UnsafeMutableRawPointer
        private let sgemmFunction: SGEMM
        private let setThreadsFunction: SetThreads?
        private let configFunction: GetString?
        private let coreNameFunction: GetString?
        private let threadCountFunction: GetInt?

        init?(fileName: String) {
            guard let handle = dlopen(fileName, RTLD_NOW | RTLD_LOCAL) else { return nil }
            func symbol<F>(_ name: String, as type: F.Type) -> F? {
                guard let address = dlsym(handle, name) else { return nil }
                return unsafeBitCast(address, to: type)
            }
            guard let sgemm = symbol("cblas_sgemm", as: SGEMM.self) else {
                dlclose(handle)
                return nil
            }
            self.fileName = fileName
            self.handle = handle
            self.sgemmFunction = sgemm
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

        /// Row-major `cblas_sgemm`; dimensions must fit in `Int32`.
        func sgemm(m: Int, n: Int, k: Int,
                   a: UnsafePointer<Float>, lda: Int, transposeA: Bool,
                   b: UnsafePointer<Float>, ldb: Int, transposeB: Bool,
                   c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float) {
            let rowMajor: Int32 = 101, noTranspose: Int32 = 111, transpose: Int32 = 112
            precondition([m, n, k, lda, ldb, ldc].allSatisfy { $0 <= Int(Int32.max) },
                         "GEMM dimensions exceed OpenBLAS's 32-bit interface")
            sgemmFunction(rowMajor, transposeA ? transpose : noTranspose,
                          transposeB ? transpose : noTranspose,
                          Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb),
                          beta, c, Int32(ldc))
        }
    }
}
