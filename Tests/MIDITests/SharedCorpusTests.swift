import Foundation
import Testing
@testable import MIDI

/// Every file in ../shared/data read and compared with what mido and symusic read from it.
@Suite(.enabled(if: SharedData.isPresent, "../shared/data is absent: corpus tests skipped"))
struct SharedCorpusTests {
    @Test func everySharedFileAgreesWithTheReferenceFacts() throws {
        let facts = try SharedData.facts()
        #expect(facts.count == 1_816)
        let results: [(notes: Int, problem: String)] = SharedData.parallelMap(facts.count) { i in
            let row = facts[i]
            let url = SharedData.root.appendingPathComponent(row.path)
            let file: MIDIFile
            do { file = try MIDIFile(contentsOf: url) } catch { return (0, "\(row.path): \(error)") }
            var bad: [String] = []
            func check<T: Equatable>(_ name: String, _ mine: T, _ theirs: T) {
                if mine != theirs { bad.append("\(name) \(mine) != \(theirs)") }
            }
            check("format", file.format.rawValue, row.format)
            check("ticks_per_beat", file.ticksPerBeat ?? -1, row.ticksPerBeat)
            check("tracks", file.tracks.count, row.tracks)
            check("notes", file.noteCount, row.noteOns)
            check("notes_symusic", file.noteCount, row.notesSymusic)
            check("tempo_changes", file.tempoChanges.count, row.tempoChanges)
            check("time_signatures", file.timeSignatures.count, row.timeSignatures)
            check("end_tick", file.endTick, row.endTick)
            if abs(file.seconds - row.seconds) > 5e-6 { bad.append("seconds \(file.seconds) != \(row.seconds)") }
            return (file.noteCount, bad.isEmpty ? "" : "\(row.path): " + bad.joined(separator: ", "))
        }
        // The reference README's total: both parsers agree on it.
        #expect(results.reduce(0) { $0 + $1.notes } == 4_820_733)
        let problems = results.map(\.problem).filter { !$0.isEmpty }
        #expect(problems.isEmpty, "\(problems.count) files disagree, first: \(problems.prefix(8).joined(separator: "\n"))")
    }
}
