import Corpus
import ArgumentParser
import Evaluation
import Foundation
import MIDI
import REMI
import Training

/// `cadenza metrics PATH... [--json]` and `cadenza metrics --compare A B`.
struct MetricsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metrics",
        abstract: "Musical metrics of MIDI files or folders (MusPy's definitions and more), or two sets compared.",
        discussion: """
            A PATH is a MIDI file or a corpus as `cadenza train` takes it: a folder (searched \
            recursively, or read through the MAESTRO-style CSV it holds), a list file or a \
            MAESTRO-style CSV; --split keeps one split. With --compare, exactly two PATHs are given and each is \
            one set; the overlap column is the area shared by the two distributions of per-piece values. \
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

    @Option(
        help:
            .init(
                "With --compare: the split of set B only (overrides --split for B), e.g. generated pieces against "
                    + "--split-b test.")
    )
    var splitB: String?

    @OptionGroup var splitRatios: SplitRatioOptions

    @Option(
        parsing: .unconditional,
        help:
            .init(
                "Measure only the first N bars (of 4 beats, as the models write) of each piece: real pieces at the "
                    + "length of generated ones, so that per-piece metrics such as note_count and pc_similarity_16 "
                    + "compare like with like.")
    )
    var bars: Int?

    @Flag(help: "Print JSON instead of a table: one object per piece, one per line (docs/cli.md).")
    var json = false

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("name at least one MIDI file or folder") }
        for (name, value) in [("--split", split), ("--split-a", splitA), ("--split-b", splitB)] {
            if let value, Split(rawValue: value) == nil {
                throw ValidationError("\(name) must be train, validation or test, got '\(value)'")
            }
        }
        if let bars, bars < 1 { throw ValidationError("--bars must be at least 1, got \(bars)") }
        if compare && paths.count != 2 {
            throw ValidationError("--compare takes exactly two paths (set A and set B), got \(paths.count)")
        }
    }

    /// The files of one set, measured, and those that could not be read (path and reason).
    private struct Measured {
        var pieces: [PieceMetrics] = []
        var skipped: [(path: String, reason: String)] = []
        /// Every file in the order given: an index into `pieces` or, for a skipped one, into `skipped`.
        var order: [(skipped: Bool, index: Int)] = []
    }

    /// Measures every readable file; unreadable ones are reported on stderr and skipped.
    private func measure(_ paths: [String], split: String?) throws -> Measured {
        let urls = try MIDICollection.files(
            paths, split: split.flatMap(Split.init(rawValue:)),
            ratios: splitRatios.ratios())
        guard !urls.isEmpty else {
            throw CommandFailure(
                "no MIDI files" + (split.map { " of the \($0) split" } ?? "") + " in "
                    + paths.joined(separator: ", ")
                    + (split == nil
                        ? "" : " (without a split column, files are split by --validation-ratio and --test-ratio)"))
        }
        var measured = Measured()
        for url in urls {
            do {
                let file = try MIDIFile(contentsOf: url)
                // Bars as the models write them (4 beats), not the file's own: a file marked 1/4
                // would otherwise be cut after a quarter of the music a generated piece of as many
                // bars holds.
                let beats = TokenizerConfig().beatsPerBar
                let piece =
                    bars.map { n in
                        file.ticksPerBeat.map { file.cropped(toTicks: 0..<(n * beats * $0)) }
                            ?? file.cropped(toBars: 0..<n)
                    } ?? file
                measured.order.append((false, measured.pieces.count))
                measured.pieces.append(MusicalMetrics.measure(piece, path: url.path))
            } catch {
                measured.order.append((true, measured.skipped.count))
                measured.skipped.append((url.path, "\(error)"))
                FileHandle.standardError.write(Data("skipped \(url.path): \(error)\n".utf8))
            }
        }
        guard !measured.pieces.isEmpty else {
            throw CommandFailure("no readable MIDI file in \(paths.joined(separator: ", "))")
        }
        return measured
    }

    func run() throws {
        var sets: [Measured] = []
        if compare {
            sets = [try measure([paths[0]], split: splitA ?? split), try measure([paths[1]], split: splitB ?? split)]
            let comparison = SetComparison(a: sets[0].pieces, b: sets[1].pieces)
            print(
                json
                    ? try MetricsReport.json(comparison, nameA: paths[0], nameB: paths[1])
                    : MetricsReport.table(comparison, nameA: paths[0], nameB: paths[1]))
        } else {
            sets = [try measure(paths, split: split)]
            if json {
                let set = sets[0]
                for (skipped, i) in set.order {
                    print(
                        skipped
                            ? try MetricsReport.jsonLine(skipped: set.skipped[i].path, error: set.skipped[i].reason)
                            : try MetricsReport.jsonLines([set.pieces[i]]))
                }
            } else {
                print(MetricsReport.table(sets[0].pieces))
            }
        }
        let measured = sets.reduce(0) { $0 + $1.pieces.count }, skipped = sets.reduce(0) { $0 + $1.skipped.count }
        FileHandle.standardError.write(
            Data(
                "measured \(measured) of \((measured + skipped).counted("file")), \(skipped) skipped\n".utf8))
        if skipped > 0 { throw ExitCode(1) }
    }
}
