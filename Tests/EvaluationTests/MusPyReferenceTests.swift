import Foundation
import MIDI
import Testing
@testable import Evaluation

/// ../shared/data, found from this file's path so the tests work from any clone or worktree.
enum SharedData {
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data")
    static let musPyTable = root.appendingPathComponent("reference/metrics-muspy.tsv")
    static var isPresent: Bool { FileManager.default.fileExists(atPath: musPyTable.path) }
}

/// The MusPy columns of the reference table and the Cadenza metric each one is.
private let columns: [(String, Metric)] = [
    ("pitch_range", .pitchRange), ("n_pitches_used", .pitchesUsed), ("n_pitch_classes_used", .pitchClassesUsed),
    ("polyphony", .polyphony), ("polyphony_rate", .polyphonyRate), ("pitch_entropy", .pitchEntropy),
    ("pitch_class_entropy", .pitchClassEntropy), ("scale_consistency", .scaleConsistency),
    ("empty_beat_rate", .emptyBeatRate), ("groove_consistency_bar", .grooveConsistency),
]

@Test(.enabled(if: SharedData.isPresent, "../shared/data is absent: MusPy reference values not checked"))
func everyMusPyMetricAgreesWithMusPyOnTwentyRealFiles() throws {
    let lines = try String(contentsOf: SharedData.musPyTable, encoding: .utf8).split(separator: "\n")
    let header = lines[0].split(separator: "\t").map(String.init)
    var checked = 0
    for line in lines.dropFirst() {
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        let path = fields[0]
        let file = try MIDIFile(contentsOf: SharedData.root.appendingPathComponent(path))
        #expect(file.ticksPerBeat == Int(fields[header.firstIndex(of: "resolution")!]), "\(path) resolution")
        let metrics = MusicalMetrics.measure(file, path: path)
        for (column, metric) in columns {
            let expected = try #require(Double(fields[header.firstIndex(of: column)!]))
            let got = metrics[metric]
            // The table prints 9 significant digits.
            #expect(
                abs(got - expected) <= 1e-8 * max(1, abs(expected)),
                "\(path) \(column): Cadenza \(got), MusPy \(expected)")
            checked += 1
        }
    }
    #expect(checked == 200)
}
