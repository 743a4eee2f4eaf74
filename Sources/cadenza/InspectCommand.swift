import ArgumentParser
import Foundation
import MIDI

/// `cadenza inspect PATH... [--json]`: what is in MIDI files, one summary per file.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Summarise MIDI files: format, tracks, notes, duration, tempo, time signatures.",
        discussion: """
            Each PATH is a MIDI file or a folder searched recursively for .mid/.midi files. \
            A file that cannot be read is reported on its own line and the others still run; \
            the exit status is 1 when any file failed.
            """)

    @Argument(help: "MIDI files or folders (searched recursively for .mid and .midi).")
    var paths: [String]

    @Flag(
        help:
            .init(
                "One JSON object per line per file (keys: path, format, ticks_per_beat, tracks, notes, seconds, "
                    + "end_tick, "
                    + "tempo_changes, time_signatures, lowest_pitch, highest_pitch, error).")
    )
    var json = false

    @Option(parsing: .unconditional, help: "Files read at once (default: all cores).")
    var threads: Int?

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give at least one file or folder") }
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be 1...1024, got \(threads)")
        }
    }

    func run() throws {
        let files = MIDICorpus.files(in: paths)
        let summaries = MIDICorpus.readAll(files, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount) {
            MIDISummary(path: $0, result: $1)
        }
        for summary in summaries { print(json ? summary.jsonLine : summary.text) }
        let failed = summaries.filter { $0.error != nil }.count
        if files.count > 1 {
            let line = "\(files.count) files, \(failed) failed"
            // With --json, standard output holds only JSON lines.
            if json { FileHandle.standardError.write(Data((line + "\n").utf8)) } else { print(line) }
        }
        if files.isEmpty {
            throw CommandFailure(
                "no MIDI files (.mid, .midi) found in \(paths.joined(separator: ", ")) (folders are searched "
                    + "recursively; names starting with '.' are skipped)")
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
