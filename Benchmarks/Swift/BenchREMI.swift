import Basics
import ArgumentParser
import Dispatch
import Foundation
import Tensor
import REMI

/// `cadenza-bench remi`: REMI tokenizing speed on pop909 (810 files) and maestro-asap, path in
/// to ids out (reading and parsing the MIDI included), with MidiTok's REMI on pop909 measured
/// in the same run when `--baseline-python` is given. Figures are medians over runs.
struct BenchREMI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remi",
        abstract: "Time REMI tokenizing of pop909 and maestro-asap, against MidiTok in the same run.")

    @Argument(help: "The data folder holding pop909/ and maestro-asap/, e.g. ../shared/data.")
    var data: String

    @Option(help: "Timed runs per corpus (after one warm-up run); figures are medians.")
    var runs = 5

    @Option(help: "Thread counts to time, comma-separated (default: 1 and all cores).")
    var threads: String?

    @Option(
        help:
            .init(
                "Python with miditok and symusic (see Benchmarks/remi-baseline.sh): runs MidiTok's REMI on pop909 in "
                    + "this "
                    + "run.")
    )
    var baselinePython: String?

    @Option(help: "Timed runs of the MidiTok baseline (each takes about half a minute).")
    var baselineRuns = 3

    @Flag(help: "Also time the arrangement config (instruments, drums, metres) on the same files, against piano REMI.")
    var instruments = false

    func validate() throws {
        guard runs >= 1, baselineRuns >= 1 else {
            throw ValidationError("--runs and --baseline-runs must be at least 1")
        }
    }

    func run() throws {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let threadCounts =
            try threads.map { list in
                try list.split(separator: ",").map { part -> Int in
                    guard let n = Int(part), n >= 1 else { throw ValidationError("--threads takes counts like 1,2") }
                    return n
                }
            } ?? Array(Set([1, cores])).sorted()
        let tokenizer = try REMITokenizer()
        print(
            "cadenza-bench remi: \(data), default config, \(runs) timed runs after a warm-up, medians; \(cores) cores")
        print(
            "corpus".padding(14) + "files".padding(7, left: true) + "tokens".padding(11, left: true)
                + "threads".padding(9, left: true) + "median s".padding(10, left: true)
                + "tokens/s".padding(12, left: true))
        var cadenzaPop909: [Int: Double] = [:]
        let arrangement = try REMITokenizer(config: .arrangement())
        for corpus in ["pop909", "maestro-asap"] {
            for threadCount in threadCounts {
                let median = try time(corpus, threads: threadCount, tokenizer)
                if corpus == "pop909" { cadenzaPop909[threadCount] = median }
                if instruments {
                    let withParts = try time(corpus, threads: threadCount, arrangement, label: "+instruments")
                    print(
                        "  \(corpus), \(threadCount) thread(s): instruments and metres take "
                            + String(format: "%.2fx", withParts / median) + " the time of piano REMI")
                }
            }
        }
        guard let python = baselinePython else {
            print("(no --baseline-python: MidiTok not run; see Benchmarks/remi-baseline.sh)")
            return
        }
        let script = URL(fileURLWithPath: BenchmarkFiles.script("remi-miditok.py"))
        let process = try Subprocess.run(
            python,
            [
                script.path, (data as NSString).appendingPathComponent("pop909"),
                "--runs", "\(baselineRuns)",
            ])
        let output = process.output
        struct Baseline: Decodable {
            var files: Int, tokens: Int, median_seconds: Double, tokens_per_second: Double, miditok: String,
                symusic: String
        }
        guard process.status == 0, let line = String(decoding: output, as: UTF8.self).split(separator: "\n").last,
            let baseline = try? JSONDecoder().decode(Baseline.self, from: Data(line.utf8))
        else {
            throw BaselineFailure(status: process.status)
        }
        print(
            "MidiTok REMI".padding(14) + "\(baseline.files)".padding(7, left: true)
                + "\(baseline.tokens)".padding(11, left: true)
                + "1".padding(9, left: true) + String(format: "%.3f", baseline.median_seconds).padding(10, left: true)
                + String(format: "%.0f", baseline.tokens_per_second).padding(12, left: true)
                + "  (pop909; miditok \(baseline.miditok), symusic \(baseline.symusic), \(baselineRuns) runs)")
        // The machine is shared: time Cadenza again right after the baseline and use the
        // slower of the two medians, so a quiet spell before the baseline cannot flatter it.
        print("(Cadenza on pop909 again, after the baseline)")
        for threadCount in threadCounts {
            let after = try time("pop909", threads: threadCount, tokenizer)
            let seconds = max(after, cadenzaPop909[threadCount] ?? after)
            let speedUp = String(format: "%.1f", baseline.median_seconds / seconds)
            print(
                "pop909 speed-up over MidiTok, same files, wall time: \(speedUp)x at \(threadCount) thread(s)"
                    + " (slower of the two Cadenza medians)"
            )
        }
    }

    /// Tokenizes one corpus `runs` times after a warm-up, prints a row, returns the median seconds.
    func time(_ corpus: String, threads threadCount: Int, _ tokenizer: REMITokenizer, label: String = "") throws
        -> Double
    {
        let folder = (data as NSString).appendingPathComponent(corpus)
        let jobs = MIDIFileList(paths: [folder]).files.map { TokenizeJob(input: $0.url) }
        guard !jobs.isEmpty else { throw ValidationError("no MIDI files under \(folder); give --data") }
        var times: [Double] = []
        var tokens = 0, failed = 0
        for run in 0...runs {
            let start = DispatchTime.now().uptimeNanoseconds
            let outcomes = tokenizer.tokenizeFiles(jobs, threads: threadCount, keepIDs: false)
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            tokens = outcomes.reduce(0) { $0 + $1.tokenCount }
            failed = outcomes.filter { $0.error != nil }.count
            if run > 0 { times.append(seconds) }
        }
        let median = GEMMBenchmark.median(times)
        print(
            (corpus + label).padding(14) + "\(jobs.count)".padding(7, left: true) + "\(tokens)".padding(11, left: true)
                + "\(threadCount)".padding(9, left: true) + String(format: "%.3f", median).padding(10, left: true)
                + String(format: "%.0f", Double(tokens) / median).padding(12, left: true)
                + (failed > 0 ? "  (\(failed) files failed)" : ""))
        return median
    }
}

/// The MidiTok script did not print its figures.
struct BaselineFailure: Error, CustomStringConvertible {
    var status: Int32
    var description: String {
        "the MidiTok baseline failed (exit \(status)); run Benchmarks/remi-baseline.sh to see why"
    }
}
