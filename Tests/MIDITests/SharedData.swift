import Foundation

/// The real corpora in `../shared/data` (beside the package root), found from this file's path
/// so that the tests work from any clone or worktree. Absent on machines without the data.
enum SharedData {
    /// `../shared/data`, resolved from the package root.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // MIDITests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .deletingLastPathComponent()
        .appendingPathComponent("shared/data")

    static let factsURL = root.appendingPathComponent("reference/midi-facts.tsv")

    /// True when the reference table (and so the corpora) are present.
    static var isPresent: Bool { FileManager.default.fileExists(atPath: factsURL.path) }

    /// One row of reference/midi-facts.tsv: what mido and symusic read from one file.
    struct Facts {
        var path: String
        var format: Int
        var ticksPerBeat: Int
        var tracks: Int
        var noteOns: Int
        var notesSymusic: Int
        var tempoChanges: Int
        var timeSignatures: Int
        var endTick: Int
        var seconds: Double
    }

    /// Every row of the table, in file order.
    static func facts() throws -> [Facts] {
        let text = try String(contentsOf: factsURL, encoding: .utf8)
        var rows: [Facts] = []
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 10, let format = Int(f[1]), let ppq = Int(f[2]), let tracks = Int(f[3]),
                let ons = Int(f[4]), let notes = Int(f[5]), let tempos = Int(f[6]),
                let sigs = Int(f[7]), let end = Int(f[8]), let seconds = Double(f[9])
            else {
                throw CocoaError(.fileReadCorruptFile)
            }
            rows.append(
                Facts(
                    path: f[0], format: format, ticksPerBeat: ppq, tracks: tracks,
                    noteOns: ons, notesSymusic: notes, tempoChanges: tempos,
                    timeSignatures: sigs, endTick: end, seconds: seconds))
        }
        return rows
    }
}
