import ArgumentParser
import Evaluation
import Foundation
import MIDI
import Training

/// `cadenza metrics PATH... [--json]` and `cadenza metrics --compare A B`.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Musical metrics of MIDI files or folders (MusPy's definitions and more), or two sets compared.",
        discussion: """
        A PATH is a MIDI file or a corpus as `cadenza train` takes it: a folder (searched \
        recursively, or read through the MAESTRO-style CSV it holds), a list file or a \
        MAESTRO-style CSV; --split keeps one split. With --compare, exactly two PATHs are given and each is one set; \
        the overlap column is the area shared by the two distributions of per-piece values. \
        Definitions and sources: docs/metrics.md.
        """)

    @Argument(help: "MIDI files, folders or MAESTRO-style CSV files.")
    var paths: [String]

    @Flag(help: "Compare two sets: the first PATH against the second.")
    var compare = false

    @Option(help: "Only files of this split: train, validation or test (the CSV's split column, else the hash split).")
    var split: String?

    @Option(help: "With --compare: the split of set A only (overrides --split for A).")
    var splitA: String?

    @Option(help: "With --compare: the split of set B only (overrides --split for B), e.g. generated pieces against --split-b test.")
    var splitB: String?

    @Option(help: "Share of files for validation when the data has no split column (as in train).")
    var validationRatio: Double = 0.1

    @Option(help: "Share of files for test when the data has no split column (as in train).")
    var testRatio: Double = 0

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("name at least one MIDI file or folder") }
        for (name, value) in [("--split", split), ("--split-a", splitA), ("--split-b", splitB)] {
            if let value, Split(rawValue: value) == nil {
                throw ValidationError("\(name) must be train, validation or test, got '\(value)'")
            }
        }
        if compare && paths.count != 2 {
            throw ValidationError("--compare takes exactly two paths (set A and set B), got \(paths.count)")
        }
    }

    /// Measures every readable file; unreadable ones are reported on stderr and skipped.
    private func measure(_ paths: [String], split: String?) throws -> [PieceMetrics] {
        let urls = try MIDICollection.files(paths, split: split.flatMap(Split.init(rawValue:)),
                                            ratios: SplitRatios(validation: validationRatio, test: testRatio))
        guard !urls.isEmpty else {
            throw ValidationError("no MIDI files of the \(split ?? "") split in \(paths.joined(separator: ", ")) "
                                  + "(without a split column, files are split by --validation-ratio and --test-ratio)")
        }
        var pieces: [PieceMetrics] = []
        for url in urls {
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
            let comparison = SetComparison(a: try measure([paths[0]], split: splitA ?? split),
                                           b: try measure([paths[1]], split: splitB ?? split))
            print(json ? try MetricsReport.json(comparison, nameA: paths[0], nameB: paths[1])
                       : MetricsReport.table(comparison, nameA: paths[0], nameB: paths[1]))
        } else {
            let pieces = try measure(paths, split: split)
            print(json ? try MetricsReport.json(pieces) : MetricsReport.table(pieces))
        }
    }
}
