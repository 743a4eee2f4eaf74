import ArgumentParser
import Tensor

/// `--threads`, shared by the benchmarks that run the kernels.
struct BenchThreads: ParsableArguments {
    @Option(parsing: .unconditional, help: "Threads for the measured code (default: CADENZA_THREADS, else all cores).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
    }

    /// Sets the kernels' thread count when one was given; the count in force either way.
    @discardableResult
    func apply() throws -> Int {
        if let threads { try GEMM.setThreadCount(threads) }
        return GEMM.threadCount
    }
}
