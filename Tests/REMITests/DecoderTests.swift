import MIDI
import Testing
@testable import REMI

/// The decoder is total: every id sequence gives a valid MIDI file by the rules in
/// `REMITokenizer.decode(_:)`.
@Suite struct DecoderTests {
    let tokenizer = try! REMITokenizer()

    func notes(_ events: [REMIEvent]) -> [Note] { tokenizer.decode(events).tracks[0].notes }

    @Test func wellFormedEventsDecodeToTheirTimes() {
        let file = tokenizer.decode([
            .bar, .position(0), .tempoClass(1), .tempoValue(30),
            .position(8), .chord(.chord(root: 7, quality: .major)),
            .position(8), .velocity(13), .noteOn(59), .duration(9),
            .bar, .position(3), .velocity(0), .noteOn(60), .duration(63),
        ])
        #expect(
            file.tracks[0].notes == [
                Note(start: 960, end: 1560, pitch: 59, velocity: 54),
                Note(start: 1920 + 360, end: 1920 + 360 + 3840, pitch: 60, velocity: 2),
            ])
        #expect(file.tempoChanges == [TempoChange(tick: 0, microsecondsPerBeat: 500_000)])
        #expect(file.tracks[0].texts == [TextEvent(tick: 960, kind: .marker, text: "G:maj")])
        #expect(file.division == .ticksPerBeat(480))
    }

    /// A file whose bars are not the tokenizer's 4-beat ones is named by its first such metre
    /// (bar numbers for it count the tokenizer's bars); 2/2 bars are 4 beats too.
    @Test func aFileInAnotherMetreIsNamed() throws {
        var file = MIDIFile()
        file.timeSignatures = [
            TimeSignature(tick: 0, numerator: 2, denominator: 2),
            TimeSignature(tick: 1_920, numerator: 3, denominator: 4),
        ]
        #expect(tokenizer.otherMetre(in: file) == file.timeSignatures[1])
        file.timeSignatures.removeLast()
        #expect(tokenizer.otherMetre(in: file) == nil)
        var following = TokenizerConfig()
        following.nonFourFour = .follow
        file.timeSignatures = [TimeSignature(tick: 0, numerator: 3, denominator: 4)]
        #expect(try REMITokenizer(config: following).otherMetre(in: file) == nil)
    }

    /// A piece of N bars ends at the bar line after bar N, rests included (it ended at its last
    /// note's end, mid-bar), or later where a note rings past it.
    @Test func aPieceEndsAtTheBarLineAfterItsLastBar() {
        let short: [REMIEvent] = [.bar, .position(0), .velocity(13), .noteOn(60), .duration(3), .bar, .bar]
        #expect(tokenizer.decode(short).tracks[0].endTick == 3 * 1_920)
        let ringing: [REMIEvent] = [.bar, .position(8), .velocity(13), .noteOn(60), .duration(63)]
        #expect(tokenizer.decode(ringing).tracks[0].endTick == 960 + 64 * 60)
        #expect(tokenizer.decode([.position(2)]).tracks[0].endTick == 1_920)
    }

    @Test func noteOnWithoutDurationGetsTheDefaultAndWithoutVelocityTheDefault() {
        #expect(
            notes([.bar, .position(2), .velocity(20), .noteOn(64), .position(4), .noteOn(65), .duration(0)]) == [
                Note(start: 240, end: 240 + 480, pitch: 64, velocity: 82),
                Note(start: 480, end: 540, pitch: 65, velocity: 64),
            ])
        // A velocity not right before its Note On is dropped; a duration with no note is skipped.
        #expect(
            notes([.bar, .velocity(20), .position(0), .noteOn(64), .duration(1), .duration(5)]) == [
                Note(start: 0, end: 120, pitch: 64, velocity: 64)
            ])
    }

    @Test func positionsMayGoBackwardsAndTimeBeforeTheFirstBarIsBarZero() {
        #expect(
            notes([
                .position(8), .noteOn(60), .duration(0), .position(2), .noteOn(61), .duration(0),
                .bar, .noteOn(62), .duration(0),
            ]) == [
                Note(start: 240, end: 300, pitch: 61, velocity: 64),
                Note(start: 960, end: 1020, pitch: 60, velocity: 64),
                Note(start: 1920, end: 1980, pitch: 62, velocity: 64),
            ])
    }

    @Test func tempoNeedsItsClassRightBefore() {
        let file = tokenizer.decode([
            .bar, .tempoValue(10), .tempoClass(2), .position(4), .tempoValue(3),
            .position(8), .tempoClass(0), .tempoValue(0), .tempoClass(2), .tempoValue(59),
        ])
        // Only the pair at position 9/16 counts; of two tempos at one tick the last is kept.
        #expect(file.tempoChanges.map(\.tick) == [960])
        #expect(file.tempoChanges.map { Int($0.bpm.rounded()) } == [209])
    }

    @Test func specialTokensAndIdsOutOfRange() {
        let v = tokenizer.vocabulary
        let ids = [
            v.startOfPieceID, -7, 9999, v.id(for: .bar)!, v.paddingID, v.id(for: .noteOn(60))!,
            v.id(for: .duration(0))!, v.endOfPieceID, v.id(for: .noteOn(61))!, v.id(for: .duration(0))!,
        ]
        #expect(tokenizer.decode(ids: ids).tracks[0].notes == [Note(start: 0, end: 60, pitch: 60, velocity: 64)])
        // Events outside the config's space are skipped like bad ids.
        #expect(notes([.bar, .position(40), .noteOn(300), .noteOn(60), .duration(99)]).map(\.end) == [480])
        #expect(tokenizer.decode(ids: []).tracks[0].notes.isEmpty)
    }

    /// A MIDI file the writer can write and a reader reads back the same: what "valid" means.
    func expectValid(_ file: MIDIFile, _ context: String) {
        guard let track = file.tracks.first, file.tracks.count == 1 else {
            Issue.record("one track expected: \(context)"); return
        }
        #expect(file.division == .ticksPerBeat(480))
        for note in track.notes {
            if !(note.start >= 0 && note.end > note.start && (0...127).contains(note.pitch)
                && (1...127).contains(note.velocity))
            {
                Issue.record("bad note \(note) from \(context)")
                return
            }
        }
        #expect(zip(track.notes, track.notes.dropFirst()).allSatisfy { ($0.start, $0.pitch) <= ($1.start, $1.pitch) })
        #expect(zip(file.tempoChanges, file.tempoChanges.dropFirst()).allSatisfy { $0.tick < $1.tick })
        #expect(
            file.tempoChanges.allSatisfy {
                $0.tick >= 0 && $0.microsecondsPerBeat > 0 && $0.microsecondsPerBeat < 1 << 24
            })
        #expect(track.endTick >= (track.notes.map(\.end).max() ?? 0))
    }

    @Test func tenThousandRandomSequencesDecodeToValidFiles() {
        var rng = SplitMix(seed: 2020)
        let count = tokenizer.vocabulary.count
        var notes = 0
        for trial in 0..<10_000 {
            let length = Int.random(in: 0...300, using: &rng)
            // Mostly valid ids, some out of range, some runs of one kind to reach odd corners.
            let ids = (0..<length).map { _ -> Int in
                Int.random(in: 0..<100, using: &rng) < 3
                    ? Int.random(in: -1000...100_000, using: &rng)
                    : Int.random(in: 0..<count, using: &rng)
            }
            let file = tokenizer.decode(ids: ids)
            notes += file.tracks.first?.notes.count ?? 0
            expectValid(file, "trial \(trial)")
        }
        #expect(notes > 10_000)
    }
}
