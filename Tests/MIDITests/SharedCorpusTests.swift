import Foundation
import Testing
@testable import MIDI

/// Every file in ../shared/data read and compared with what mido and symusic read from it.
@Suite(.enabled(if: SharedData.isPresent, "../shared/data is absent: corpus tests skipped"))
struct SharedCorpusTests {
    @Test func everySharedFileAgreesWithTheReferenceFacts() throws {
        let facts = try SharedData.facts()
        #expect(facts.count == 1_816)
        let results: [(notes: Int, problem: String)] = MIDICorpus.map(
            facts.count, threads: ProcessInfo.processInfo.activeProcessorCount
        ) { i in
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
        #expect(
            problems.isEmpty, "\(problems.count) files disagree, first: \(problems.prefix(8).joined(separator: "\n"))")
    }

    /// read -> write -> read gives back the same file: notes, controls, programs, bends, texts,
    /// names, end ticks, tempo map, signatures, format and division.
    @Test func everySharedFileSurvivesAWriteAndReadBack() throws {
        let facts = try SharedData.facts()
        let problems: [String] = MIDICorpus.map(facts.count, threads: ProcessInfo.processInfo.activeProcessorCount) {
            i in
            let path = facts[i].path
            do {
                let original = try MIDIFile(contentsOf: SharedData.root.appendingPathComponent(path))
                let format = MIDIFile.WriteFormat(rawValue: original.format.rawValue) ?? .multiTrack
                let again = try MIDIFile(bytes: try original.encoded(as: format))
                return again == original ? "" : "\(path): " + MIDIFile.firstDifference(original, again)
            } catch {
                return "\(path): \(error)"
            }
        }.filter { !$0.isEmpty }
        #expect(
            problems.isEmpty,
            "\(problems.count) files differ after a round trip, first: \(problems.prefix(5).joined(separator: "\n"))")
    }
}

extension MIDIFile {
    /// Names the first part that differs, for test failure messages.
    static func firstDifference(_ a: MIDIFile, _ b: MIDIFile) -> String {
        if a.format != b.format { return "format \(a.format) vs \(b.format)" }
        if a.division != b.division { return "division \(a.division) vs \(b.division)" }
        if a.tempoChanges != b.tempoChanges { return "tempo changes differ" }
        if a.timeSignatures != b.timeSignatures { return "time signatures differ" }
        if a.keySignatures != b.keySignatures { return "key signatures differ" }
        if a.tracks.count != b.tracks.count { return "\(a.tracks.count) vs \(b.tracks.count) tracks" }
        for (i, (x, y)) in zip(a.tracks, b.tracks).enumerated() where x != y {
            if x.notes != y.notes {
                let j =
                    (0..<min(x.notes.count, y.notes.count)).first { x.notes[$0] != y.notes[$0] }
                    ?? min(x.notes.count, y.notes.count)
                return "track \(i) notes differ at \(j) (\(x.notes.count) vs \(y.notes.count)): "
                    + "\(j < x.notes.count ? "\(x.notes[j])" : "-") vs \(j < y.notes.count ? "\(y.notes[j])" : "-")"
            }
            if x.controlChanges != y.controlChanges { return "track \(i) controls differ" }
            if x.name != y.name { return "track \(i) name \(x.name ?? "nil") vs \(y.name ?? "nil")" }
            return "track \(i) differs (end \(x.endTick) vs \(y.endTick), texts, programs or bends)"
        }
        return "same"
    }
}
