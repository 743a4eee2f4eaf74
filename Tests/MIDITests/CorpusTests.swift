import Foundation
import Testing
@testable import MIDI

/// What `cadenza inspect` is built on: finding files under folders, reading them in parallel,
/// and the per-file summary in text and JSON.
struct CorpusTests {
    /// A temporary folder with two good files (one nested, one .MIDI), a bad one and a non-MIDI.
    func makeFolder() throws -> String {
        let root = FileManager.default.temporaryDirectory
            .appendingPathComponent("cadenza-midi-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/sub", withIntermediateDirectories: true)
        let good = try WriterTests.randomFile(seed: 3, tracks: 2).encoded()
        try Data(good).write(to: URL(fileURLWithPath: root + "/a.mid"))
        try Data(good).write(to: URL(fileURLWithPath: root + "/sub/b.MIDI"))
        try Data(good.prefix(30)).write(to: URL(fileURLWithPath: root + "/sub/broken.mid"))
        try Data("hello".utf8).write(to: URL(fileURLWithPath: root + "/notes.txt"))
        return root
    }

    @Test func foldersAreSearchedRecursivelyForMIDIFiles() throws {
        let root = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = MIDICorpus.files(in: [root, root + "/missing.mid"])
        #expect(files == [root + "/a.mid", root + "/sub/b.MIDI", root + "/sub/broken.mid", root + "/missing.mid"])
    }

    @Test func aBadFileIsReportedAndTheOthersStillRead() throws {
        let root = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let files = MIDICorpus.files(in: [root, root + "/missing.mid"])
        let summaries = MIDICorpus.readAll(files, threads: 2) { MIDISummary(path: $0, result: $1) }
        #expect(summaries.map { $0.error == nil } == [true, true, false, false])
        guard case .chunkPastEnd(offset: 14, chunk: "MTrk", _, available: 8)? = summaries[2].error else {
            Issue.record("broken.mid: \(String(describing: summaries[2].error))")
            return
        }
        #expect(summaries[3].error?.description == "cannot read \(root)/missing.mid: No such file or directory")
        let expected = try MIDIFile(bytes: try WriterTests.randomFile(seed: 3, tracks: 2).encoded())
        #expect(summaries[0].file == expected)
    }

    @Test func aFolderOrMissingFileIsUnreadableNotACrash() throws {
        let root = try makeFolder()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(throws: MIDIError.unreadable(path: root, reason: "it is a folder, not a file")) {
            _ = try MIDIFile(contentsOfFile: root)
        }
        #expect(throws: MIDIError.unreadable(path: root + "/nope.mid", reason: "No such file or directory")) {
            _ = try MIDIFile(contentsOf: URL(fileURLWithPath: root + "/nope.mid"))
        }
    }

    @Test func jsonLinesCarryTheAgreedKeys() throws {
        var file = MIDIFile(division: .ticksPerBeat(96))
        file.tracks = [
            Track(
                notes: [
                    Note(start: 0, end: 96, pitch: 60, velocity: 1),
                    Note(start: 96, end: 192, pitch: 72, velocity: 1),
                ], endTick: 192)
        ]
        let good = MIDISummary(path: "dir/a \"b\".mid", result: .success(file))
        #expect(
            good.jsonLine
                == #"{"path": "dir/a \"b\".mid", "format": 1, "ticks_per_beat": 96, "tracks": 1, "notes": 2, "#
                + #""seconds": 1.0, "end_tick": 192, "tempo_changes": 0, "time_signatures": 0, "lowest_pitch": 60, "#
                + #""highest_pitch": 72, "error": null}"#
        )
        let bad = MIDISummary(path: "x.mid", result: .failure(.notMIDI(offset: 0)))
        #expect(
            bad.jsonLine
                == #"{"path": "x.mid", "format": null, "ticks_per_beat": null, "tracks": null, "notes": null, "#
                + #""seconds": null, "end_tick": null, "tempo_changes": null, "time_signatures": null, "#
                + #""lowest_pitch": null, "highest_pitch": null, "#
                + #""error": "not a MIDI file: no 'MThd' header at byte 0"}"#
        )
        let json = try JSONSerialization.jsonObject(with: Data(good.jsonLine.utf8)) as? [String: Any]
        #expect(json?["notes"] as? Int == 2)
    }

    @Test func textSummaryNamesFormatNotesDurationTempoAndRange() {
        var file = MIDIFile(division: .ticksPerBeat(480))
        file.tracks = [
            Track(
                notes: [
                    Note(start: 0, end: 960, pitch: 21, velocity: 1),
                    Note(start: 0, end: 48_000, pitch: 108, velocity: 1),
                ], endTick: 48_000)
        ]
        file.tempoChanges = [TempoChange(tick: 0, bpm: 120)]
        file.timeSignatures = [TimeSignature(tick: 0, numerator: 3, denominator: 4)]
        let text = MIDISummary(path: "p.mid", result: .success(file)).text
        #expect(
            text == """
                p.mid
                  format 1, 480 ticks per beat, 1 track, 2 notes, 50.00 s (0:50.00)
                  1 tempo change (120.0 bpm); 1 time signature (3/4); pitch 21...108 (A0 to C8)
                """)
        // Drum keys name sounds, not pitches: they are left out of the range (as metrics does).
        var drums = Track(notes: [Note(start: 0, end: 10, pitch: 36, velocity: 90, channel: 9)], endTick: 48_000)
        drums.isDrum = true
        file.tracks.append(drums)
        file.tracks[0].notes.append(Note(start: 0, end: 10, pitch: 38, velocity: 90, channel: 9))
        #expect(MIDISummary(path: "p.mid", result: .success(file)).pitchRange == 21...108)
        let onlyDrums = MIDIFile(division: .ticksPerBeat(480), tracks: [drums])
        #expect(MIDISummary(path: "d.mid", result: .success(onlyDrums)).text.hasSuffix("drums only"))
    }
}

/// One rule for hidden entries in every command: a folder search skips names starting with
/// `.` (files and whole folders), and a hidden file named directly is still read.
@Test func folderSearchSkipsHiddenFilesAndFolders() throws {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("hidden-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: root) }
    for folder in ["a", ".git", "b/.cache"] {
        try FileManager.default.createDirectory(
            at: root.appendingPathComponent(folder), withIntermediateDirectories: true)
    }
    for file in ["a/one.mid", "a/.two.mid", ".git/three.mid", "b/.cache/four.midi", "b/five.MIDI", "b/six.txt"] {
        try Data([0]).write(to: root.appendingPathComponent(file))
    }
    #expect(MIDICorpus.search(folder: root.path) == ["a/one.mid", "b/five.MIDI"])
    #expect(MIDICorpus.search(folder: root.appendingPathComponent("a/one.mid").path) == nil)
    let hidden = root.appendingPathComponent("a/.two.mid").path
    #expect(
        MIDICorpus.files(in: [root.path, hidden]) == [root.path + "/a/one.mid", root.path + "/b/five.MIDI", hidden])
}
