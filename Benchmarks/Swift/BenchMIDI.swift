import ArgumentParser
import Dispatch
import Foundation
import Tensor
import MIDI
#if canImport(Glibc)
    import Glibc
#endif

/// `cadenza-bench midi`: how fast a folder of MIDI files is read into `MIDIFile` values, from
/// disk (warm page cache: one untimed run first), on 1 and on `--threads` threads. The peers
/// (symusic, mido) are timed on the same folder by Benchmarks/midi-baseline.sh.
struct BenchMIDI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "midi",
        abstract: "Time reading every MIDI file of a folder (files/s, MB/s, notes/s, peak memory).")

    @Argument(help: "Folder searched recursively for .mid/.midi, e.g. ../shared/data/maestro-asap.")
    var data: String

    @Option(help: "Timed runs per thread count; the median is reported.")
    var runs = 5

    @Option(help: "Threads for the parallel measurement (files are shared out one at a time).")
    var threads = 2

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1.") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1.") }
        guard FileManager.default.fileExists(atPath: data) else {
            throw ValidationError("no folder at \(data)")
        }
    }

    func run() throws {
        let files = MIDICorpus.files(in: [data])
        guard !files.isEmpty else { throw ValidationError("No .mid/.midi files under \(data).") }
        let bytes = files.reduce(0) { total, path in
            total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }
        // Each pass reads every file and keeps only its note count, as symusic's loop does.
        func pass(_ threads: Int) -> (seconds: Double, notes: Int, failed: Int) {
            let start = DispatchTime.now().uptimeNanoseconds
            let counts = MIDICorpus.readAll(files, threads: threads) { _, result in
                (try? result.get())?.noteCount ?? -1
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            return (seconds, counts.filter { $0 >= 0 }.reduce(0, +), counts.filter { $0 < 0 }.count)
        }
        let warm = pass(threads)
        print(
            "cadenza-bench midi: \(files.count) files, \(String(format: "%.1f", Double(bytes) / 1e6)) MB, "
                + "\(warm.notes) notes, \(warm.failed) failed, in \(data)")
        print("threads  median s  files/s  MB/s    M notes/s  runs (s)")
        for t in Set([1, threads]).sorted() {
            let times = (0..<runs).map { _ in pass(t).seconds }
            let median = GEMMBenchmark.median(times)
            print(
                String(
                    format: "%-8d %-9.3f %-8.0f %-7.1f %-10.2f ", t, median, Double(files.count) / median,
                    Double(bytes) / 1e6 / median, Double(warm.notes) / 1e6 / median)
                    + times.map { String(format: "%.3f", $0) }.joined(separator: " "))
        }
        print(String(format: "peak memory (max resident set): %.1f MB", Self.peakResidentMegabytes()))
        if warm.failed > 0 { throw ExitCode(1) }
    }

    /// getrusage's ru_maxrss: kilobytes on Linux, bytes on macOS.
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        #if os(Linux)
            getrusage(RUSAGE_SELF.rawValue, &usage)
        #else
            getrusage(RUSAGE_SELF, &usage)
        #endif
        #if os(macOS)
            return Double(usage.ru_maxrss) / 1e6
        #else
            return Double(usage.ru_maxrss) / 1e3
        #endif
    }
}
