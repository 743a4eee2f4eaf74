import MIDI
import Testing
@testable import REMI

/// The encoder's rules (../shared/docs/remi.md), each on a small file built here.
@Suite struct EncoderTests {
    let tokenizer = try! REMITokenizer()

    func file(_ notes: [Note], tempos: [TempoChange] = [TempoChange(tick: 0, bpm: 120)], division: Int = 480)
        -> MIDIFile
    {
        MIDIFile(division: .ticksPerBeat(division), tracks: [Track(notes: notes)], tempoChanges: tempos)
    }

    func names(_ file: MIDIFile, _ tokenizer: REMITokenizer? = nil) throws -> [String] {
        let t = tokenizer ?? self.tokenizer
        return try t.encode(file).map(t.vocabulary.name(of:))
    }

    @Test func seedPrintoutComesOutOfAFileBuiltToMatchIt() throws {
        // B3 at beat 2 (velocity 53: bin 13; 600 ticks: step 9), then G2 and D3 in the next
        // bar so that the 4-beat window from beat 2 is G:maj, while beats 0-1 are silent.
        let midi = file([
            Note(start: 960, end: 1560, pitch: 59, velocity: 53),
            Note(start: 1920, end: 2880, pitch: 43, velocity: 60),
            Note(start: 1920, end: 2880, pitch: 50, velocity: 60),
        ])
        let dump = tokenizer.dump(try tokenizer.encode(midi)).split(separator: "\n").map(String.init)
        #expect(
            Array(dump.prefix(6)) == [
                "Bar",
                "Position 1/16, Chord N:N",
                "Position 1/16, Tempo Class mid, Tempo Value 30",
                "Position 9/16, Chord G:maj",
                "Position 9/16, Note Velocity 13, Note On 59, Note Duration 9",
                "Bar",
            ])
    }

    @Test func onsetsSnapToTheNearestStepWithTiesToTheEarlier() throws {
        let noChords = try REMITokenizer(
            config: {
                var c = TokenizerConfig(); c.chords = false; return c
            }())
        // 60 is halfway between 0 and 120: the earlier; 61 goes to 120; 1861 rounds into bar 1.
        let events = try noChords.encode(
            file([
                Note(start: 60, end: 180, pitch: 60, velocity: 64),
                Note(start: 61, end: 181, pitch: 62, velocity: 64),
                Note(start: 1861, end: 1981, pitch: 64, velocity: 64),
            ]))
        #expect(
            events == [
                .bar, .position(0), .tempoClass(1), .tempoValue(30),
                .position(0), .velocity(16), .noteOn(60), .duration(1),
                .position(1), .velocity(16), .noteOn(62), .duration(1),
                .bar, .position(0), .velocity(16), .noteOn(64), .duration(1),
            ])
    }

    @Test func durationsTakeTheNearestStepWithTiesToTheShorterAndClamp() throws {
        var c = TokenizerConfig()
        c.chords = false
        let t = try REMITokenizer(config: c)
        let lengths = [0, 30, 89, 90, 91, 600, 3840, 3870, 3871, 100_000]
        let expected = [0, 0, 0, 0, 1, 9, 63, 63, 63, 63]
        let notes = lengths.enumerated().map {
            Note(start: $0.offset * 1920, end: $0.offset * 1920 + $0.element, pitch: 60, velocity: 64)
        }
        let steps = try t.encode(file(notes)).compactMap {
            if case let .duration(d) = $0 { return d } else { return nil }
        }
        #expect(steps == expected)
    }

    @Test func velocityBinIsVelocityOverFour() throws {
        var c = TokenizerConfig()
        c.chords = false
        let t = try REMITokenizer(config: c)
        let notes = [1, 3, 4, 63, 64, 127].enumerated().map {
            Note(start: $0.offset * 1920, end: $0.offset * 1920 + 60, pitch: 60, velocity: $0.element)
        }
        let bins = try t.encode(file(notes)).compactMap {
            if case let .velocity(b) = $0 { return b } else { return nil }
        }
        #expect(bins == [0, 0, 1, 15, 16, 31])
    }

    @Test func notesAtOneOnsetKeepTheOrderOfTheirUnsnappedOnsetsThenPitch() throws {
        var c = TokenizerConfig()
        c.chords = false
        let t = try REMITokenizer(config: c)
        // All snap to 120: 100 (pitch 70) before 110 (pitch 50, 65) before 130 (pitch 40).
        let notes = [
            Note(start: 130, end: 200, pitch: 40, velocity: 64), Note(start: 110, end: 200, pitch: 65, velocity: 64),
            Note(start: 100, end: 200, pitch: 70, velocity: 64), Note(start: 110, end: 200, pitch: 50, velocity: 64),
        ]
        let pitches = try t.encode(file(notes)).compactMap {
            if case let .noteOn(p) = $0 { return p } else { return nil }
        }
        #expect(pitches == [70, 50, 65, 40])
    }

    @Test func everyBarIsWrittenAndTheLastIsTheBarOfTheLastOnset() throws {
        var c = TokenizerConfig()
        c.chords = false
        let t = try REMITokenizer(config: c)
        // Onsets in bars 0 and 3; the long last note runs into bar 5, which is not written.
        let events = try t.encode(
            file([
                Note(start: 0, end: 100, pitch: 60, velocity: 64),
                Note(start: 3 * 1920, end: 5 * 1920 + 10, pitch: 60, velocity: 64),
            ]))
        #expect(events.filter { $0 == .bar }.count == 4)
        #expect(Array(events.suffix(5)) == [.bar, .position(0), .velocity(16), .noteOn(60), .duration(63)])
    }

    @Test func tempoIsWrittenOnEveryBeatUpToTheLastTempoChange() throws {
        var c = TokenizerConfig()
        c.chords = false
        let t = try REMITokenizer(config: c)
        // 100 bpm from 0; 50 bpm between beats (1.5), overridden at beat 2 by 200 bpm before any
        // beat carries it; 25 bpm (below the range: slow 0) at beat 5, the last change.
        let tempos = [
            TempoChange(tick: 0, bpm: 100), TempoChange(tick: 720, bpm: 50),
            TempoChange(tick: 960, bpm: 200), TempoChange(tick: 2400, bpm: 25),
        ]
        let events = try t.encode(
            file(
                [
                    Note(start: 0, end: 60, pitch: 60, velocity: 64),
                    Note(start: 3840, end: 3900, pitch: 60, velocity: 64),
                ], tempos: tempos))
        var beatTempos: [String] = []
        var bar = -1, position = 0, i = 0
        while i < events.count {
            switch events[i] {
            case .bar: bar += 1
            case let .position(p): position = p
            case let .tempoClass(k):
                if case let .tempoValue(v) = events[i + 1] { beatTempos.append("\(bar * 16 + position):\(k):\(v)") }
            default: break
            }
            i += 1
        }
        #expect(beatTempos == ["0:1:10", "4:1:10", "8:2:50", "12:2:50", "16:2:50", "20:0:0"])
    }

    @Test func tempoAboveTheRangeIsFast59AndTheDefaultIs120() throws {
        var c = TokenizerConfig()
        c.chords = false
        let t = try REMITokenizer(config: c)
        let fast = try t.encode(
            file([Note(start: 0, end: 60, pitch: 60, velocity: 64)], tempos: [TempoChange(tick: 0, bpm: 210)]))
        #expect(fast.prefix(4) == [.bar, .position(0), .tempoClass(2), .tempoValue(59)])
        let none = try t.encode(file([Note(start: 0, end: 60, pitch: 60, velocity: 64)], tempos: []))
        #expect(none.prefix(4) == [.bar, .position(0), .tempoClass(1), .tempoValue(30)])
        #expect(t.tempoClassAndValue(bpm: 89) == (0, 59))
        #expect(t.tempoClassAndValue(bpm: 90) == (1, 0))
        #expect(t.tempoClassAndValue(bpm: 209) == (2, 59))
        #expect(t.tempoClassAndValue(bpm: 29) == (0, 0))
    }

    @Test func chordsComeBeforeTempoBeforeNotesAtOneOnset() throws {
        let events = try tokenizer.encode(
            file([60, 64, 67].map { Note(start: 0, end: 1920, pitch: $0, velocity: 64) }))
        #expect(
            Array(events.prefix(7)) == [
                .bar, .position(0), .chord(.chord(root: 0, quality: .major)),
                .position(0), .tempoClass(1), .tempoValue(30), .position(0),
            ])
    }

    @Test func otherDivisionsAreRescaledTo480() throws {
        var c = TokenizerConfig()
        c.chords = false
        let t = try REMITokenizer(config: c)
        // At 384 ticks per beat, tick 384 is beat 1 (position 5/16), 96 ticks are a 16th note.
        let events = try t.encode(file([Note(start: 384, end: 480, pitch: 60, velocity: 64)], division: 384))
        #expect(events.suffix(4) == [.position(4), .velocity(16), .noteOn(60), .duration(1)])
    }

    @Test func tracksDrumsAndPedalFollowTheConfig() throws {
        let melody = Track(name: "MELODY", notes: [Note(start: 0, end: 480, pitch: 72, velocity: 64, channel: 1)])
        let piano = Track(
            name: "PIANO", notes: [Note(start: 0, end: 240, pitch: 48, velocity: 64)],
            controlChanges: [
                ControlChange(tick: 100, controller: 64, value: 127),
                ControlChange(tick: 960, controller: 64, value: 0),
            ])
        let drums = Track(notes: [Note(start: 0, end: 60, pitch: 36, velocity: 64, channel: 9)], isDrum: true)
        let midi = MIDIFile(tracks: [melody, piano, drums], tempoChanges: [TempoChange(tick: 0, bpm: 120)])
        func pitchesAndSteps(_ config: TokenizerConfig) throws -> [Int] {
            try REMITokenizer(config: config).encode(midi).compactMap {
                switch $0 {
                case let .noteOn(p): return p;
                case let .duration(d): return -d;
                default: return nil
                }
            }
        }
        var c = TokenizerConfig()
        #expect(try pitchesAndSteps(c) == [48, -3, 72, -7])
        c.dropDrums = false
        #expect(try pitchesAndSteps(c) == [36, 0, 48, -3, 72, -7])
        c.dropDrums = true
        c.sustainPedal = .extendNotes
        #expect(try pitchesAndSteps(c) == [48, -15, 72, -7])
        c.tracks = .firstWithNotes
        #expect(try pitchesAndSteps(c) == [72, -7])
        c.nonFourFour = .reject
        var waltz = midi
        waltz.timeSignatures = [TimeSignature(tick: 0, numerator: 3, denominator: 4)]
        #expect(throws: REMIError.nonFourFourTimeSignature(tick: 0, numerator: 3, denominator: 4)) {
            try REMITokenizer(config: c).encode(waltz)
        }
    }

    @Test func emptyAndSMPTEFiles() throws {
        #expect(try tokenizer.encode(MIDIFile()) == [])
        #expect(try tokenizer.tokenize(MIDIFile()) == [tokenizer.vocabulary.endOfPieceID])
        #expect(throws: REMIError.smpteTimeUnsupported) {
            try tokenizer.encode(MIDIFile(division: .smpte(framesPerSecond: 25, ticksPerFrame: 40)))
        }
    }
}
