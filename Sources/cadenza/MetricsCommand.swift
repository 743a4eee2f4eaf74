import ArgumentParser
import Evaluation
import Foundation
import MIDI

/// `cadenza metrics PATH... [--json]` and `cadenza metrics --compare A B`.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Musical metrics of MIDI files or folders (MusPy's definitions and more), or two sets compared.",
        discussion: """
        A PATH is a MIDI file, a folder (searched recursively) or a MAESTRO-style CSV \
        (with --split). With --compare, exactly two PATHs are given and each is one set; \
        the overlap column is the area shared by the two distributions of per-piece values. \
        Definitions and sources: docs/metrics.md.
        """)

    @Argument(help: "MIDI files, folders or MAESTRO-style CSV files.")
    var paths: [String]

    @Flag(help: "Compare two sets: the first PATH against the second.")
    var compare = false

    @Option(help: "With a MAESTRO-style CSV: only rows of this split (train, validation, test).")
    var split: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("name at least one MIDI file or folder") }
        if compare && paths.count != 2 {
            throw ValidationError("--compare takes exactly two paths (set A and set B), got \(paths.count)")
        }
    }

    /// Measures every readable file; unreadable ones are reported on stderr and skipped.
    private func measure(_ paths: [String]) throws -> [PieceMetrics] {
        var pieces: [PieceMetrics] = []
        for url in try MIDICollection.files(paths, split: split) {
            do {
                pieces.append(MusicalMetrics.measure(try MIDIFile(contentsOf: url), path: url.path))
            } catch {
                FileHandle.standardError.write(Data("skipped \(url.path): \(error)\n".utf8))
            }
        }
        guard !pieces.isEmpty else { throw ValidationError("no readable MIDI file in \(paths.joined(separator: ", "))") }
        return pieces
    }

    func run() throws {
        if compare {
            let comparison = SetComparison(a: try measure([paths[0]]), b: try measure([paths[1]]))
            print(json ? try MetricsReport.json(comparison, nameA: paths[0], nameB: paths[1])
                       : MetricsReport.table(comparison, nameA: paths[0], nameB: paths[1]))
        } else {
            let pieces = try measure(paths)
            print(json ? try MetricsReport.json(pieces) : MetricsReport.table(pieces))
        }
    }
}
