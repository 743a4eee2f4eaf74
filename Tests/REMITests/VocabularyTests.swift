import Foundation
import Testing
@testable import REMI

@Suite struct VocabularyTests {
    @Test func defaultEventSpaceHasTheDocumentedOrder() throws {
        let v = try Vocabulary()
        #expect(v.count == 368)
        let expected: [(Int, REMIEvent, String)] = [
            (0, .padding, "Padding_None"), (1, .startOfPiece, "Start Of Piece_None"),
            (2, .endOfPiece, "End Of Piece_None"),
            (3, .bar, "Bar_None"), (4, .position(0), "Position_1/16"), (19, .position(15), "Position_16/16"),
            (20, .chord(.noChord), "Chord_N:N"), (21, .chord(.chord(root: 0, quality: .major)), "Chord_C:maj"),
            (80, .chord(.chord(root: 11, quality: .dominant)), "Chord_B:dom"),
            (81, .tempoClass(0), "Tempo Class_slow"), (83, .tempoClass(2), "Tempo Class_fast"),
            (84, .tempoValue(0), "Tempo Value_0"), (143, .tempoValue(59), "Tempo Value_59"),
            (144, .velocity(0), "Note Velocity_0"), (175, .velocity(31), "Note Velocity_31"),
            (176, .noteOn(0), "Note On_0"), (303, .noteOn(127), "Note On_127"),
            (304, .duration(0), "Note Duration_0"), (367, .duration(63), "Note Duration_63"),
        ]
        for (id, event, name) in expected {
            #expect(v.id(for: event) == id)
            #expect(v.event(for: id) == event)
            #expect(v.name(of: event) == name)
        }
        for id in 0..<v.count { #expect(v.id(for: v.events[id]) == id) }
        #expect(v.id(for: .position(16)) == nil)
        #expect(v.id(for: .noteOn(128)) == nil)
        #expect(v.event(for: -1) == nil)
        #expect(v.event(for: 368) == nil)
        #expect(v.readableName(of: .chord(.chord(root: 7, quality: .major))) == "Chord G:maj")
    }

    @Test func withoutChordsTheChordEventsAreGone() throws {
        var c = TokenizerConfig()
        c.chords = false
        let v = try Vocabulary(config: c)
        #expect(v.count == 368 - 61)
        #expect(v.id(for: .chord(.noChord)) == nil)
    }

    @Test func savesAndLoadsAsJSON() throws {
        var c = TokenizerConfig()
        c.sustainPedal = .extendNotes
        let v = try Vocabulary(config: c)
        let loaded = try Vocabulary.load(jsonData: try v.jsonData())
        #expect(loaded == v)
        // A vocabulary that lists other tokens than its config gives is refused, naming the token.
        var json = String(decoding: try v.jsonData(), as: UTF8.self)
        json = json.replacingOccurrences(of: "\"Bar_None\"", with: "\"Bar_Twice\"")
        #expect(throws: REMIError.invalidVocabulary(token: "Bar_Twice", reason: "id 3 should be 'Bar_None'")) {
            try Vocabulary.load(jsonData: Data(json.utf8))
        }
        #expect(throws: REMIError.self) { try Vocabulary.load(jsonData: Data("{}".utf8)) }
    }

    @Test func configJSONKeepsDefaultsForAbsentFields() throws {
        let partial = try JSONDecoder().decode(
            TokenizerConfig.self, from: Data(#"{"chords": false, "tracks": "firstWithNotes"}"#.utf8))
        var expected = TokenizerConfig()
        expected.chords = false
        expected.tracks = .firstWithNotes
        #expect(partial == expected)
        let back = try JSONDecoder().decode(TokenizerConfig.self, from: try expected.jsonData())
        #expect(back == expected)
    }

    @Test func badConfigsAreRefusedWithTheField() throws {
        var c = TokenizerConfig()
        c.positionsPerBar = 7
        #expect(
            throws: REMIError.invalidConfig(
                field: "positionsPerBar", reason: "must divide ticksPerBeat * beatsPerBar (1920)")
        ) {
            try Vocabulary(config: c)
        }
        c = TokenizerConfig()
        c.tempoClasses[2].lowerBPM = 160
        #expect(throws: REMIError.self) { try Vocabulary(config: c) }
        c = TokenizerConfig()
        c.velocityBins = 0
        #expect(throws: REMIError.self) { try Vocabulary(config: c) }
        // Values whose arithmetic overflowed (a crash) or whose pieces no MIDI file can hold.
        for (field, change) in [
            ("durationStepTicks", { (c: inout TokenizerConfig) in c.durationStepTicks = 20_000_000_000_000_000 }),
            ("durationStepTicks", { (c: inout TokenizerConfig) in c.durationStepTicks = 64 * c.ticksPerBeat + 1 }),
            ("tempoClasses", { (c: inout TokenizerConfig) in c.tempoClasses[0].lowerBPM = Int.max - 10 }),
            ("tempoClasses", { (c: inout TokenizerConfig) in c.tempoClasses = [.init(name: "a", lowerBPM: 1001)] }),
            ("defaultTempoBPM", { (c: inout TokenizerConfig) in c.defaultTempoBPM = 1001 }),
            ("ticksPerBeat", { (c: inout TokenizerConfig) in c.ticksPerBeat = 32768 }),
        ] {
            var bad = TokenizerConfig()
            change(&bad)
            #expect {
                try bad.validate()
            } throws: { error in
                if case let REMIError.invalidConfig(named, _) = error { return named == field } else { return false }
            }
        }
    }

    @Test func tokenFilesRoundTripAndRefuseDamage() throws {
        let file = TokenFile(vocabulary: try Vocabulary(), ids: [3, 4, 20, 367, 2])
        let data = try file.encoded()
        #expect(data.count == 24 + 10)
        #expect(Array(data.prefix(4)) == Array("REMI".utf8))
        #expect(try TokenFile(data: data) == file)
        #expect(throws: REMIError.self) { try TokenFile(data: data.dropLast()) }
        #expect(throws: REMIError.self) { try TokenFile(data: Data("MThd".utf8)) }
        #expect(throws: REMIError.self) { try TokenFile(vocabularySize: 10, fingerprint: nil, ids: [10]).encoded() }
    }

    /// A token file written with one tokenizer config must not decode with another's
    /// vocabulary, even of the same size (the durations would silently come out wrong).
    @Test func tokenFilesRefuseAnotherConfigsVocabularyOfTheSameSize() throws {
        let written = try Vocabulary()
        var other = TokenizerConfig()
        other.durationStepTicks *= 2
        let reading = try Vocabulary(config: other)
        #expect(written.count == reading.count)
        #expect(written.fingerprint != reading.fingerprint)
        let file = try TokenFile(data: TokenFile(vocabulary: written, ids: [3, 4]).encoded())
        try file.check(against: written, tokenPath: "a.remi", vocabularyPath: "vocab.json")
        #expect(throws: REMIError.self) {
            try file.check(against: reading, tokenPath: "a.remi", vocabularyPath: "vocab.json")
        }
    }

    /// Version 1 files (no fingerprint) still read, checked by vocabulary size.
    @Test func versionOneTokenFilesStillRead() throws {
        let v1 = try TokenFile(vocabularySize: 368, fingerprint: nil, ids: [3, 4, 2]).encoded()
        #expect(v1.count == 16 + 6)
        let file = try TokenFile(data: v1)
        #expect(file.ids == [3, 4, 2] && file.vocabularyFingerprint == nil)
        try file.check(against: try Vocabulary(), tokenPath: "a.remi", vocabularyPath: "vocab.json")
    }
}
