#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Foundation

/// Open MPI's library, loaded at run time with `dlopen` so that Cadenza builds and runs
/// without it (as with OpenBLAS): only a process that `mpirun` started loads it.
///
/// Debian's `libopenmpi3` installs `libmpi.so.40`. Open MPI's predefined handles
/// (`MPI_COMM_WORLD`, `MPI_FLOAT`, `MPI_MAX`, ...) are the addresses of its global objects
/// (`ompi_mpi_comm_world`, ...), which `dlsym` finds, so no header is needed. Other MPI
/// libraries define those handles differently and are not supported. `CADENZA_MPI` may name
/// the file to load (a full path) instead.
public final class OpenMPI: @unchecked Sendable {
    /// File names tried in order when `CADENZA_MPI` is not set.
    public static let candidateNames = ["libmpi.so.40", "libmpi.so"]

    /// The names `load` tries: `CADENZA_MPI` when set, else `candidateNames`.
    public static var searchedNames: [String] {
        ProcessInfo.processInfo.environment["CADENZA_MPI"].map { [$0] } ?? candidateNames
    }

    /// Whether `mpirun` (Open MPI's launcher) started this process.
    public static var launchedByMPIRun: Bool { ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] != nil }

    /// How many processes `mpirun` started on this host (nil outside `mpirun`).
    public static var localProcessCount: Int? {
        ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_LOCAL_SIZE"].flatMap { Int($0) }
    }

    typealias Handle = UnsafeMutableRawPointer
    typealias Initialize = @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Int32
    typealias Finalize = @convention(c) () -> Int32
    typealias CommunicatorInteger = @convention(c) (Handle, UnsafeMutablePointer<Int32>) -> Int32
    /// `MPI_Alltoall` and `MPI_Allgather` share one signature.
    typealias Exchange =
        @convention(c) (UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer, Int32, Handle, Handle) -> Int32
    /// `MPI_Alltoallv(send, sendCounts, sendOffsets, type, received, receivedCounts, receivedOffsets, type, comm)`.
    typealias ExchangeVarying =
        @convention(c) (
            UnsafeRawPointer, UnsafePointer<Int32>, UnsafePointer<Int32>, Handle,
            UnsafeMutableRawPointer, UnsafePointer<Int32>, UnsafePointer<Int32>, Handle, Handle
        ) -> Int32
    /// `MPI_Allgatherv(send, count, type, received, receivedCounts, offsets, type, comm)`.
    typealias GatherVarying =
        @convention(c) (
            UnsafeRawPointer, Int32, Handle, UnsafeMutableRawPointer, UnsafePointer<Int32>, UnsafePointer<Int32>,
            Handle, Handle
        ) -> Int32
    typealias AllReduce =
        @convention(c) (UnsafeRawPointer, UnsafeMutableRawPointer, Int32, Handle, Handle, Handle) ->
        Int32
    typealias Broadcast = @convention(c) (UnsafeMutableRawPointer, Int32, Handle, Int32, Handle) -> Int32
    typealias Barrier = @convention(c) (Handle) -> Int32
    typealias Abort = @convention(c) (Handle, Int32) -> Int32
    typealias LibraryVersion = @convention(c) (UnsafeMutablePointer<CChar>, UnsafeMutablePointer<Int32>) -> Int32

    /// The file it was loaded by.
    public let fileName: String
    let world: Handle, float: Handle, int32: Handle, double: Handle, maximum: Handle, add: Handle
    let initialize: Initialize, finalize: Finalize
    let commRank: CommunicatorInteger, commSize: CommunicatorInteger
    let allToAll: Exchange, allGather: Exchange
    let allToAllVarying: ExchangeVarying, allGatherVarying: GatherVarying
    let allReduce: AllReduce, broadcast: Broadcast, barrier: Barrier, abort: Abort
    let libraryVersion: LibraryVersion?

    /// Loads the first of `searchedNames` that is Open MPI; throws `DataParallelError` naming
    /// what was tried when none is.
    public static func load() throws -> OpenMPI {
        var reasons: [String] = []
        for name in searchedNames {
            // RTLD_GLOBAL: Open MPI's own plugins, which it dlopens, resolve symbols of libmpi.
            guard let handle = dlopen(name, RTLD_NOW | RTLD_GLOBAL) else {
                reasons.append("\(name): \(dlerror().map { String(cString: $0) } ?? "not found")")
                continue
            }
            if let library = OpenMPI(fileName: name, handle: handle) { return library }
            reasons.append("\(name): not Open MPI (no ompi_mpi_comm_world)")
        }
        throw DataParallelError.mpiNotLoadable(tried: reasons)
    }

    private init?(fileName: String, handle: UnsafeMutableRawPointer) {
        func symbol<F>(_ name: String, as type: F.Type) -> F? {
            dlsym(handle, name).map { unsafeBitCast($0, to: type) }
        }
        guard let world = dlsym(handle, "ompi_mpi_comm_world"), let float = dlsym(handle, "ompi_mpi_float"),
            let int32 = dlsym(handle, "ompi_mpi_int"), let double = dlsym(handle, "ompi_mpi_double"),
            let maximum = dlsym(handle, "ompi_mpi_op_max"), let add = dlsym(handle, "ompi_mpi_op_sum"),
            let initialize = symbol("MPI_Init", as: Initialize.self),
            let finalize = symbol("MPI_Finalize", as: Finalize.self),
            let commRank = symbol("MPI_Comm_rank", as: CommunicatorInteger.self),
            let commSize = symbol("MPI_Comm_size", as: CommunicatorInteger.self),
            let allToAll = symbol("MPI_Alltoall", as: Exchange.self),
            let allGather = symbol("MPI_Allgather", as: Exchange.self),
            let allToAllVarying = symbol("MPI_Alltoallv", as: ExchangeVarying.self),
            let allGatherVarying = symbol("MPI_Allgatherv", as: GatherVarying.self),
            let allReduce = symbol("MPI_Allreduce", as: AllReduce.self),
            let broadcast = symbol("MPI_Bcast", as: Broadcast.self),
            let barrier = symbol("MPI_Barrier", as: Barrier.self),
            let abort = symbol("MPI_Abort", as: Abort.self)
        else { return nil }
        self.fileName = fileName
        (self.world, self.float, self.int32, self.double) = (world, float, int32, double)
        (self.maximum, self.add) = (maximum, add)
        (self.initialize, self.finalize, self.commRank, self.commSize) = (initialize, finalize, commRank, commSize)
        (self.allToAll, self.allGather, self.allReduce) = (allToAll, allGather, allReduce)
        (self.allToAllVarying, self.allGatherVarying) = (allToAllVarying, allGatherVarying)
        (self.broadcast, self.barrier, self.abort) = (broadcast, barrier, abort)
        self.libraryVersion = symbol("MPI_Get_library_version", as: LibraryVersion.self)
    }

    /// Open MPI's own description of itself (`MPI_Get_library_version`), first line.
    public var version: String {
        guard let libraryVersion else { return fileName }
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        guard libraryVersion(&buffer, &length) == 0 else { return fileName }
        let text = String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        // "Open MPI v4.1.4, package: Debian OpenMPI, ...": the name and version are enough.
        return text.split(whereSeparator: { $0 == "\n" || $0 == "," }).first.map { String($0).trimmingTrailingNulls }
            ?? fileName
    }

    /// `MPI_IN_PLACE`, which Open MPI defines as the address 1.
    static let inPlace = UnsafeRawPointer(bitPattern: 1)!

    /// Throws unless an MPI call returned `MPI_SUCCESS` (0). Open MPI's default error handler
    /// aborts the job before a failing call returns, so this is a second line of defence.
    func check(_ code: Int32, _ call: String) throws {
        guard code == 0 else { throw DataParallelError.mpiCallFailed(call: call, code: Int(code)) }
    }
}

extension String {
    fileprivate var trimmingTrailingNulls: String {
        var s = self
        while s.last == "\0" { s.removeLast() }
        return s
    }
}
