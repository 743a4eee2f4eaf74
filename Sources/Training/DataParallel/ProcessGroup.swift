/// The processes that train one model together, each on its share of every batch
/// (data-parallel training over MPI, docs/training.md), or this process alone.
///
/// Every process holds the same weights and optimiser state and takes the same updates: after
/// each backward pass the gradients are summed over the processes in rank order (`sum`), so
/// every process gets the same bits and the result does not depend on which message arrives
/// first. Rank 0, the leader, validates and writes checkpoints and metrics.
public final class ProcessGroup: @unchecked Sendable {
    /// This process's index, 0 ..< `size`.
    public let rank: Int
    /// How many processes train together.
    public let size: Int
    /// The MPI library carrying the messages (nil: one process).
    let mpi: OpenMPI?

    /// This process alone: every collective operation is the identity.
    public static let single = ProcessGroup(rank: 0, size: 1, mpi: nil)

    private init(rank: Int, size: Int, mpi: OpenMPI?) {
        (self.rank, self.size, self.mpi) = (rank, size, mpi)
    }

    /// The group `mpirun` started this process in (after `MPI_Init`), or `single` when it was
    /// not started by `mpirun`. Throws when `mpirun` started it but Open MPI does not load.
    public static func fromEnvironment() throws -> ProcessGroup {
        guard OpenMPI.launchedByMPIRun else { return .single }
        let mpi = try OpenMPI.load()
        try mpi.check(mpi.initialize(nil, nil), "MPI_Init")
        var rank: Int32 = 0, size: Int32 = 0
        try mpi.check(mpi.commRank(mpi.world, &rank), "MPI_Comm_rank")
        try mpi.check(mpi.commSize(mpi.world, &size), "MPI_Comm_size")
        return ProcessGroup(rank: Int(rank), size: Int(size), mpi: mpi)
    }

    /// Whether this process validates and writes checkpoints and metrics.
    public var isLeader: Bool { rank == 0 }

    /// What runs the group, for the log: "Open MPI v4.1.4, 2 processes" or "one process".
    public var description: String {
        guard let mpi else { return "one process" }
        return "\(mpi.version), \(size) process\(size == 1 ? "" : "es")"
    }

    /// This process's streams of a batch of `batch` streams: the `rank`-th of `size` equal,
    /// consecutive shares (`batch` must be a multiple of `size`).
    public func share(of batch: Int) -> Range<Int> {
        (rank * batch / size)..<((rank + 1) * batch / size)
    }

    /// Replaces `values` on every process by the sum over the processes, added in rank order
    /// ((v₀ + v₁) + v₂ ...), so every process gets the same bits, whatever the timing.
    ///
    /// The values are cut into `size` consecutive chunks; process r gathers chunk r from every
    /// process (`MPI_Alltoallv`), adds them in rank order into its own copy, and the sums are
    /// shared back in place (`MPI_Allgatherv`). Each process sends and receives about twice
    /// its values in all, the volume of a ring all-reduce, and MPI itself adds nothing.
    public func sum(_ values: UnsafeMutableBufferPointer<Float>) throws {
        guard let mpi, size > 1, let base = values.baseAddress else { return }
        let n = size
        guard values.count <= Int(Int32.max) else {
            throw DataParallelError.tooLarge(values: values.count, processes: n)
        }
        let offsets = (0...n).map { Int32(values.count * $0 / n) }
        let counts = (0..<n).map { offsets[$0 + 1] - offsets[$0] }
        let mine = Int(counts[rank])
        // Process r receives chunk r from every process, one after another.
        let receivedOffsets = (0..<n).map { Int32($0 * mine) }
        let receivedCounts = [Int32](repeating: Int32(mine), count: n)
        // Kept from call to call: fresh pages for tens of megabytes cost more than the sum.
        if scratch.count < mine * n { scratch = [Float](repeating: 0, count: mine * n) }
        try scratch.withUnsafeMutableBufferPointer { buffer in
            let received = buffer.baseAddress!
            try mpi.check(
                mpi.allToAllVarying(
                    base, counts, offsets, mpi.float, received, receivedCounts, receivedOffsets, mpi.float, mpi.world),
                "MPI_Alltoallv")
            let out = base + Int(offsets[rank])
            out.update(from: received, count: mine)
            for from in 1..<n {
                let part = received + from * mine
                for i in 0..<mine { out[i] += part[i] }
            }
        }
        try mpi.check(
            mpi.allGatherVarying(OpenMPI.inPlace, 0, mpi.float, base, counts, offsets, mpi.float, mpi.world),
            "MPI_Allgatherv")
    }
    private var scratch: [Float] = []

    /// The same sum by MPI's own all-reduce (`MPI_Allreduce`, `MPI_SUM`), whose order of
    /// addition is MPI's choice: the baseline `cadenza-bench allreduce` measures `sum` against.
    public func sumByMPIAllreduce(_ values: UnsafeMutableBufferPointer<Float>) throws {
        guard let mpi, size > 1, let base = values.baseAddress else { return }
        guard values.count <= Int(Int32.max) else {
            throw DataParallelError.tooLarge(values: values.count, processes: size)
        }
        try mpi.check(
            mpi.allReduce(OpenMPI.inPlace, base, Int32(values.count), mpi.float, mpi.add, mpi.world), "MPI_Allreduce")
    }

    /// Every process's `values` (the same count on each), rank after rank.
    public func gather(_ values: [Float]) throws -> [Float] {
        guard let mpi, size > 1 else { return values }
        var all = [Float](repeating: 0, count: values.count * size)
        try mpi.check(
            mpi.allGather(values, Int32(values.count), mpi.float, &all, Int32(values.count), mpi.float, mpi.world),
            "MPI_Allgather")
        return all
    }

    /// Whether `flag` is true on any process (a stop asked of one process stops them all at
    /// the same update).
    public func any(_ flag: Bool) throws -> Bool {
        guard let mpi, size > 1 else { return flag }
        var mine: Int32 = flag ? 1 : 0, result: Int32 = 0
        try mpi.check(mpi.allReduce(&mine, &result, 1, mpi.int32, mpi.maximum, mpi.world), "MPI_Allreduce")
        return result != 0
    }

    /// The leader's `value`, on every process.
    public func leaderValue(_ value: Double) throws -> Double {
        guard let mpi, size > 1 else { return value }
        var shared = value
        try mpi.check(mpi.broadcast(&shared, 1, mpi.double, 0, mpi.world), "MPI_Bcast")
        return shared
    }

    /// Waits until every process has called it.
    public func barrier() throws {
        guard let mpi, size > 1 else { return }
        try mpi.check(mpi.barrier(mpi.world), "MPI_Barrier")
    }

    /// Ends every process of the job with `status` (`MPI_Abort`): an error on one process
    /// must not leave the others waiting for it.
    public func abort(status: Int32) {
        guard let mpi, size > 1 else { return }
        _ = mpi.abort(mpi.world, status)
    }

    /// Ends MPI in this process (`MPI_Finalize`); call once, after the last collective.
    public func finish() {
        guard let mpi else { return }
        _ = mpi.finalize()
    }
}

/// Why data-parallel training could not run.
public enum DataParallelError: Error, CustomStringConvertible, Equatable {
    /// `mpirun` started the process but no Open MPI library loaded.
    case mpiNotLoadable(tried: [String])
    /// An MPI call returned an error code.
    case mpiCallFailed(call: String, code: Int)
    /// More values than one MPI message of 32-bit counts carries.
    case tooLarge(values: Int, processes: Int)
    /// The batch does not split into equal shares.
    case batchNotDivisible(batch: Int, processes: Int)

    public var description: String {
        switch self {
        case let .mpiNotLoadable(tried):
            return "started by mpirun, but Open MPI's library did not load (tried \(tried.joined(separator: "; "))); "
                + "install Debian's openmpi-bin and libopenmpi-dev, or set CADENZA_MPI to libmpi's path"
        case let .mpiCallFailed(call, code): return "\(call) failed with MPI error \(code)"
        case let .tooLarge(values, processes):
            return "\(values) values are too many for one MPI message across \(processes) processes"
        case let .batchNotDivisible(batch, processes):
            return "--batch \(batch) must be a multiple of the \(processes) processes, so each trains an equal share"
        }
    }
}
