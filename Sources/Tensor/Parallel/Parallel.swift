#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How the non-GEMM kernels spread work over the cores.
///
/// Every kernel splits its work into pieces whose results do not depend on how the pieces are
/// assigned to threads (each output element is computed by one piece, in one fixed order), so
/// results are bit-identical for any `threadCount`. Reductions across pieces (weight gradients)
/// are done by splitting the *reduced-into* dimension instead, never by summing per-thread
/// partials in arrival order. See docs/tensor-kernels.md.
public enum Parallel {
    /// The number of threads the kernels use (default: `GEMM.threadCount`, which is
    /// `CADENZA_THREADS` or the active processor count). Tests set it to 1 to check that
    /// results do not depend on it; `GEMM.setThreadCount` (every `--threads` flag) sets both.
    nonisolated(unsafe) public static var threadCount: Int = GEMM.threadCount

    /// Ranges per thread that `forEachRange` cuts when the work allows: the threads claim them as
    /// they come free, so one that falls behind (a busy core, a pause of the virtual machine)
    /// hands its later ranges to the others instead of keeping them waiting.
    public static let rangesPerThread = 4

    /// Calls `body` on disjoint consecutive ranges that cover `0..<count`, concurrently when
    /// more than one thread is allowed and the work is large enough. `minimumChunk` is the
    /// smallest range worth a thread hand-off (tens of microseconds of work).
    @inlinable
    public static func forEachRange(_ count: Int, minimumChunk: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        let most = threadCount > 1 ? threadCount * rangesPerThread : 1
        let pieces = Swift.min(most, Swift.max(1, count / Swift.max(1, minimumChunk)))
        if pieces <= 1 {
            body(0..<count)
            return
        }
        WorkerPool.shared.run(tasks: pieces) { piece in
            let start = count * piece / pieces
            let end = count * (piece + 1) / pieces
            if start < end { body(start..<end) }
        }
    }

    /// Calls `body(index)` for every index in `0..<count`, spread over the threads in
    /// interleaved order (index i goes to thread i % threads), for tasks of equal cost such as
    /// attention heads.
    @inlinable
    public static func forEachIndex(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        let threads = Swift.min(threadCount, count)
        if threads <= 1 {
            for index in 0..<count { body(index) }
            return
        }
        WorkerPool.shared.run(tasks: threads) { thread in
            var index = thread
            while index < count {
                body(index)
                index += threads
            }
        }
    }
}

/// Processors this process may run on (sysconf, to keep Foundation out of the kernels).
@usableFromInline
let onlineProcessorCount: Int = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
