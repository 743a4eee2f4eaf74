import MIDI
import Testing
@testable import REMI

/// Hand-worked examples of the original's chord recogniser (../shared/docs/remi.md, Chords).
@Suite struct ChordRecognizerTests {
    /// The chord of one window holding these pitches.
    func window(_ pitches: [Int]) -> (ChordRecognizer.WindowChord, Int) {
        var lo: UInt64 = 0, hi: UInt64 = 0
        for p in pitches { if p < 64 { lo |= 1 << UInt64(p) } else { hi |= 1 << UInt64(p - 64) } }
        return ChordRecognizer.chord(lo: lo, hi: hi)
    }

    /// Whole-beat notes: each entry is (pitches, first beat, beats long).
    func notes(_ blocks: [([Int], Int, Int)]) -> [Note] {
        blocks.flatMap { pitches, beat, length in
            pitches.map { Note(start: beat * 480, end: (beat + length) * 480, pitch: $0, velocity: 80) }
        }
    }

    @Test func majorTriadScoresTheFifthAsInside() {
        // C E G: root C {0,4,7} maj, the fifth +1 -> 1; E {0,3,8} min, 8 is -1; G has no third.
        #expect(window([60, 64, 67]) == (.chord(root: 0, quality: .major), 1))
        #expect(ChordScoreTable.score(chroma: 0b1001_0001, root: 4) == -1)
        #expect(ChordScoreTable.score(chroma: 0b1001_0001, root: 7) == -100)
    }

    @Test func minorTriad() {
        // A C E: A {0,3,7} min +1; C {0,4,9} maj, 9 is -1.
        #expect(window([57, 60, 64]) == (.chord(root: 9, quality: .minor), 1))
    }

    @Test func diminishedTriad() {
        // B D F: B {0,3,6} dim 0; D {0,3,9} min, 9 is -2; F has no third.
        #expect(window([59, 62, 65]) == (.chord(root: 11, quality: .diminished), 0))
    }

    @Test func augmentedTriadTieGoesToTheBass() {
        // C E G#: every root gives {0,4,8} aug 0; the tie goes to the lowest sounding pitch.
        #expect(window([60, 64, 68]) == (.chord(root: 0, quality: .augmented), 0))
        #expect(window([52, 60, 68]) == (.chord(root: 4, quality: .augmented), 0))
        #expect(window([56, 64, 72]) == (.chord(root: 8, quality: .augmented), 0))
    }

    @Test func dominantSeventh() {
        // G B D F: G {0,4,7,10} dom 0; B {0,3,6,8} dim with 8 at -2; D min with 5 (-1), 9 (-2).
        #expect(window([55, 59, 62, 65]) == (.chord(root: 7, quality: .dominant), 0))
    }

    @Test func tieBetweenQualitiesGoesToTheBass() {
        // C E G A: C maj (7 +1, 9 -1) = 0; A min (7 +1, 10 nothing) = 1: A wins outright.
        #expect(window([60, 64, 67, 69]) == (.chord(root: 9, quality: .minor), 1))
        // F A C E G (from the greedy example): F maj 0 and A min 0 tie; F is the bass.
        #expect(window([53, 57, 60, 64, 67]) == (.chord(root: 5, quality: .major), 0))
        // Same pitch classes with A in the bass: A wins the tie.
        #expect(window([45, 53, 60, 64, 67]) == (.chord(root: 9, quality: .minor), 0))
    }

    @Test func bothThirdsOrNeitherIsNoChord() {
        #expect(window([60, 63, 64]) == (.unrecognised, -100))
        #expect(window([60, 62]) == (.unrecognised, -100))
        #expect(window([]) == (.silent, 0))
    }

    @Test func greedyTakesTheLongerWindowOnATie() {
        // C major for four beats, then A minor for four: both windows agree, the 4-beat wins.
        let spans = ChordRecognizer().recognize(notes([([60, 64, 67], 0, 4), ([57, 60, 64], 4, 4)]))
        #expect(
            spans == [
                .init(start: 0, end: 1920, label: .chord(root: 0, quality: .major)),
                .init(start: 1920, end: 3840, label: .chord(root: 9, quality: .minor)),
            ])
    }

    @Test func greedyTakesTheTwoBeatWindowWhenItScoresHigher() {
        // C E G for two beats then F A C: the 4-beat window scores 0 (F:maj), the 2-beat 1
        // (C:maj); from beat 2 the windows are cut at the end (1920) and give F:maj.
        let spans = ChordRecognizer().recognize(notes([([60, 64, 67], 0, 2), ([53, 57, 60], 2, 2)]))
        #expect(
            spans == [
                .init(start: 0, end: 960, label: .chord(root: 0, quality: .major)),
                .init(start: 960, end: 1920, label: .chord(root: 5, quality: .major)),
            ])
    }

    @Test func greedyTakesTheFourBeatWindowWhenItScoresHigher() {
        // C E for two beats (C:maj 0), then G joins (C E G: C:maj +1 over four beats).
        let spans = ChordRecognizer().recognize(notes([([60, 64], 0, 4), ([67], 2, 2)]))
        #expect(spans == [.init(start: 0, end: 1920, label: .chord(root: 0, quality: .major))])
    }

    @Test func twoBeatWindowsOnly() {
        let recogniser = ChordRecognizer(windowBeats: [2])
        let spans = recogniser.recognize(notes([([60, 64, 67], 0, 4)]))
        #expect(spans.map(\.start) == [0, 960])
        #expect(spans.allSatisfy { $0.label == .chord(root: 0, quality: .major) })
    }

    @Test func leadingWindowsWithoutChordMergeIntoTheFirstChord() {
        // C D (no third) for a bar, then C major: the chord starts at tick 0.
        let spans = ChordRecognizer().recognize(notes([([60, 62], 0, 4), ([60, 64, 67], 4, 4)]))
        #expect(spans == [.init(start: 0, end: 3840, label: .chord(root: 0, quality: .major))])
    }

    @Test func windowsWithoutChordMergeIntoTheChordBefore() {
        let spans = ChordRecognizer().recognize(
            notes([([60, 64, 67], 0, 4), ([60, 62], 4, 4), ([57, 60, 64], 8, 4)]))
        #expect(
            spans == [
                .init(start: 0, end: 3840, label: .chord(root: 0, quality: .major)),
                .init(start: 3840, end: 5760, label: .chord(root: 9, quality: .minor)),
            ])
    }

    @Test func silentWindowsAreNoChordAndStay() {
        let spans = ChordRecognizer().recognize(notes([([60, 64, 67], 0, 4), ([60, 64, 67], 8, 4)]))
        #expect(spans.map(\.label) == [.chord(root: 0, quality: .major), .noChord, .chord(root: 0, quality: .major)])
        #expect(spans.map(\.start) == [0, 1920, 3840])
        // A silent start is a chord too: a window with no chord after it merges into N:N.
        let quiet = ChordRecognizer().recognize(notes([([60, 62], 4, 4)]))
        #expect(quiet == [.init(start: 0, end: 3840, label: .noChord)])
    }

    @Test func noChordAnywhereGivesNoChords() {
        #expect(ChordRecognizer().recognize(notes([([60, 62], 0, 8)])).isEmpty)
        #expect(ChordRecognizer().recognize([]).isEmpty)
    }

    @Test func windowsAreCutAtTheEndOfThePiece() {
        // 1200 ticks of C E G: both windows end at 1200 or 960; the longer (cut) one wins.
        let spans = ChordRecognizer().recognize(
            [60, 64, 67].map { Note(start: 0, end: 1200, pitch: $0, velocity: 90) })
        #expect(spans == [.init(start: 0, end: 1200, label: .chord(root: 0, quality: .major))])
    }

    @Test func zeroLengthNotesSoundOnTheirStartTick() {
        let notes = [
            Note(start: 0, end: 1920, pitch: 60, velocity: 90), Note(start: 0, end: 1920, pitch: 64, velocity: 90),
            Note(start: 480, end: 480, pitch: 67, velocity: 90),
        ]
        #expect(ChordRecognizer().recognize(notes).first?.label == .chord(root: 0, quality: .major))
        #expect(window([60, 64, 67]).1 == 1)
    }
}
