import Foundation
import MIDI
import Testing

/// `cadenza generate`'s controls (docs/control.md) through the built binary and the bundled
/// model: what each flag promises, and a clear refusal for what it cannot do.
@Suite struct ControlCommandTests {
    @Test func infillRewritesTheAskedBarsAndKeepsEveryOtherNoteExactly() throws {
        let folder = try CLI.scratchFolder()
        try folder.appendingPathComponent("scale.mid").write(Fixture.scale(bars: 8))
        let outcome = try CLI.run(
            [
                "generate", "--infill", "scale.mid", "--bars", "3-5", "--seed", "4", "--out", "new.mid", "--tokens-out",
                "gap.txt",
            ], in: folder)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.stdout.contains("bars 3-5 of scale.mid rewritten (3 bars"), "\(outcome)")
        let before = try MIDIFile(contentsOf: folder.appendingPathComponent("scale.mid"))
        let after = try MIDIFile(contentsOf: folder.appendingPathComponent("new.mid"))
        let barTicks = 4 * 480
        func kept(_ file: MIDIFile) -> [Note] {
            file.tracks.flatMap(\.notes).filter { !(2..<5).contains($0.start / barTicks) }
        }
        #expect(kept(after) == kept(before))
        #expect(after.tempoChanges == before.tempoChanges)
        let gap = try String(contentsOf: folder.appendingPathComponent("gap.txt"), encoding: .utf8)
        #expect(gap.split(separator: "\n").filter { $0 == "Bar" }.count == 3)
    }

    @Test func chordsStyleKeyDensityAndTempoAreWrittenAsAsked() throws {
        let folder = try CLI.scratchFolder()
        let outcome = try CLI.run(
            [
                "generate", "--chords", "C:maj,G:maj A:min", "--style", "Chopin", "--key", "A minor", "--density",
                "dense", "--tempo", "90", "--bars", "3", "--seed", "2", "--out", "a.mid", "--tokens-out", "a.txt",
            ], in: folder)
        #expect(outcome.status == 0, "\(outcome)")
        let lines = try String(contentsOf: folder.appendingPathComponent("a.txt"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
        #expect(
            Array(lines.prefix(6)) == [
                "Bar", "Style chopin", "Key A:min", "Density dense", "Position 1/16, Chord C:maj",
                "Position 1/16, Tempo Class mid, Tempo Value 0",
            ])
        #expect(lines.filter { $0 == "Style chopin" }.count == 3 && lines.filter { $0 == "Density dense" }.count == 3)
        #expect(
            lines.filter { $0.contains("Chord") }.map { $0.components(separatedBy: ", ").last ?? "" } == [
                "Chord C:maj", "Chord G:maj", "Chord A:min", "Chord C:maj", "Chord G:maj",
            ])
        let midi = try MIDIFile(contentsOf: folder.appendingPathComponent("a.mid"))
        #expect(midi.tempoChanges.allSatisfy { Int($0.bpm) == 90 })
    }

    @Test func controlsThatCannotBeUsedAreRefusedClearly() throws {
        let folder = try CLI.scratchFolder()
        try folder.appendingPathComponent("scale.mid").write(Fixture.scale(bars: 4))
        let cases: [([String], Int32, String)] = [
            (["--style", "mahler"], 1, "--style: 'mahler' is not a style this model knows; it knows: bach,"),
            (["--bars", "5-8"], 64, "--bars 5-8 is a range of bars to rewrite: give --infill FILE too"),
            (["--infill", "scale.mid", "--bars", "3-6"], 1, "bars 3-6 are not inside the music, which has 4 bars"),
            (["--infill", "scale.mid"], 64, "--infill needs --bars"),
            (["--infill", "scale.mid", "--bars", "4096-4097"], 64, "--bars 4096-4097 reaches past bar 4096"),
            (["--infill", "scale.mid", "--bars", "2", "--prompt", "scale.mid"], 64, "--prompt cannot be given with"),
            (["--key", "H major"], 64, "--key: 'H major' is not a key"),
            (["--chords", "C:major"], 64, "--chords: 'C:major' is not a chord name"),
            (["--density", "thick"], 64, "--density: must be one of sparse, medium, dense"),
            (["--tempo", "1000"], 64, "--tempo: must be 20...300"),
            (["--tempo", "300"], 1, "--tempo: this model writes tempos of 30...209 bpm, got 300"),
        ]
        for (flags, status, message) in cases {
            let outcome = try CLI.run(["generate", "--seed", "1", "--out", "x.mid"] + flags, in: folder)
            #expect(outcome.status == status && outcome.stderr.contains(message), "\(flags): \(outcome)")
        }
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x.mid").path))
    }
}
