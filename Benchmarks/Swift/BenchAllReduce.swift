import ArgumentParser
import Foundation
import Training

/// `mpirun -np N cadenza-bench allreduce`: the gradient sum of data-parallel training
/// (`ProcessGroup.sum`: all-to-all, sums in rank order, all-gather) against Open MPI's own
/// `MPI_Allreduce` on the same buffer, in one run. The default size is the `small` model's
/// gradients. Rank 0 prints.
struct BenchAllReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allreduce",
        abstract: "Time the data-parallel gradient sum against MPI_Allreduce (run under mpirun).")

    @Option(help: "Floats summed per call (default: the small Transformer-XL's 5,220,720 parameters).")
    var values: Int = 5_220_720
    @Option(help: "Timed calls of each (after one untimed call each).")
    var rounds: Int = 15

    func run() throws {
        let group = try ProcessGroup.fromEnvironment()
        defer { group.finish() }
        guard group.size > 1 else {
            print("run under mpirun with 2 or more processes, e.g. mpirun -np 2 cadenza-bench allreduce")
            return
        }
        var buffer = (0..<values).map { Float(($0 * 7 + group.rank) % 101) * 0.01 }
        func time(_ body: (UnsafeMutableBufferPointer<Float>) throws -> Void) throws -> [Double] {
            var seconds: [Double] = []
            for round in 0...rounds {
                try group.barrier()
                let start = Date()
                try buffer.withUnsafeMutableBufferPointer { try body($0) }
                if round > 0 { seconds.append(Date().timeIntervalSince(start)) }
            }
            return seconds.sorted()
        }
        let ordered = try time { try group.sum($0) }
        let native = try time { try group.sumByMPIAllreduce($0) }
        guard group.isLeader else { return }
        let megabytes = Double(values * 4) / 1e6
        func line(_ name: String, _ s: [Double]) -> String {
            let median = s[s.count / 2]
            return String(
                format: "%@ %8.2f ms median (min %.2f, max %.2f), %.2f GB/s of gradients", name, median * 1e3,
                s.first! * 1e3, s.last! * 1e3, megabytes / 1e3 / median)
        }
        print(
            "\(group.description); \(values) floats (\(String(format: "%.1f", megabytes)) MB) per call, \(rounds) calls"
        )
        print(line("ordered sum (cadenza)  ", ordered))
        print(line("MPI_Allreduce (Open MPI)", native))
        print(
            String(
                format: "ratio MPI_Allreduce / ordered sum: %.2fx",
                native[native.count / 2] / ordered[ordered.count / 2]))
    }
}
