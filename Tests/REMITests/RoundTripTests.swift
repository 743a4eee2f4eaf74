import Foundation
import MIDI
import Testing
@testable import REMI

/// Round trips on generated MIDI: every note comes back with its onset within 60 ticks (at
/// 480 per beat), its length within 30 ticks of the length clamped to 60...3840, its velocity
/// in its bin and its pitch exact; the tempo of every beat within 1 bpm of the clamped tempo.
@Suite struct RoundTripTests {
    /// A random file: several tracks, any division, notes anywhere (overlaps included), tempo
    /// changes on and between beats, sometimes none at tick 0.
    static func randomFile(_ rng: inout SplitMix) -> MIDIFile {
        let division = [96, 120, 384, 480, 500, 960, 1024].randomElement(using: &rng)!
        let bars = Int.random(in: 1...24, using: &rng)
        let span = bars * 4 * division
        let tracks = (0..<Int.random(in: 1...3, using: &rng)).map { _ -> Track in
            let notes = (0..<Int.random(in: 0...120, using: &rng)).map { _ -> Note in
                let start = Int.random(in: 0..<span, using: &rng)
                let long = Int.random(in: 0..<10, using: &rng) == 0
                let length = Int.random(in: 0...(long ? 40 * division : 3 * division), using: &rng)
                return Note(
                    start: start, end: start + length, pitch: Int.random(in: 0...127, using: &rng),
                    velocity: Int.random(in: 1...127, using: &rng))
            }.sorted { ($0.start, $0.pitch) < ($1.start, $1.pitch) }
            return Track(notes: notes)
        }
        var tempos: [TempoChange] = []
        for _ in 0..<Int.random(in: 0...6, using: &rng) {
            let onBeat = Bool.random(using: &rng)
            let tick =
                onBeat
                ? Int.random(in: 0...(span / division), using: &rng) * division : Int.random(in: 0...span, using: &rng)
            tempos.append(
                TempoChange(tick: tick, microsecondsPerBeat: Int.random(in: 150_000...3_000_000, using: &rng)))
        }
        if Bool.random(using: &rng) {
            tempos.append(TempoChange(tick: 0, microsecondsPerBeat: Int.random(in: 200_000...2_000_000, using: &rng)))
        }
        tempos.sort { $0.tick < $1.tick }
        return MIDIFile(division: .ticksPerBeat(division), tracks: tracks, tempoChanges: tempos)
    }

    @Test func generatedFilesRoundTripWithinTheBounds() throws {
        let tokenizer = try REMITokenizer()
        var rng = SplitMix(seed: 909)
        var total = RoundTripReport()
        for trial in 0..<600 {
            let file = Self.randomFile(&rng)
            let (report, decoded) = try tokenizer.roundTrip(file)
            if !report.withinBounds {
                Issue.record("trial \(trial): \(report)")
                break
            }
            // Every note of the file is read (no drums or pedal here) and written back.
            #expect(report.notesIn == file.tracks.reduce(0) { $0 + $1.notes.count })
            #expect(decoded.tracks[0].notes.count == report.notesIn)
            total.add(report)
        }
        #expect(total.withinBounds)
        #expect(total.notesIn > 50_000)
        #expect(total.onsetsMoved > 0 && total.maxOnsetShift <= 60)
        #expect(total.maxDurationError <= 30 && total.durationsClamped > 0)
        #expect(total.tempoBeats > 10_000 && total.maxTempoError < 1)
    }

    @Test func filesOnTheGridComeBackExactly() throws {
        // Notes on the 120-tick grid with lengths in whole 32nds (60...3840) and tempos in whole
        // bpm on beats (microseconds per beat rounded down, as the decoder writes them) come back unchanged
        // (velocity apart: it comes back as its bin's centre).
        let tokenizer = try REMITokenizer()
        var rng = SplitMix(seed: 7)
        for _ in 0..<200 {
            var notes = (0..<Int.random(in: 1...60, using: &rng)).map { _ -> Note in
                let start = Int.random(in: 0..<128, using: &rng) * 120
                return Note(
                    start: start, end: start + Int.random(in: 1...64, using: &rng) * 60,
                    pitch: Int.random(in: 0...127, using: &rng), velocity: Int.random(in: 0...31, using: &rng) * 4 + 2)
            }
            notes.sort { ($0.start, $0.pitch) < ($1.start, $1.pitch) }
            let file = MIDIFile(
                tracks: [Track(notes: notes)],
                tempoChanges: [
                    TempoChange(tick: 0, microsecondsPerBeat: 60_000_000 / Int.random(in: 30...209, using: &rng))
                ])
            let decoded = tokenizer.decode(ids: try tokenizer.tokenize(file))
            #expect(
                decoded.tracks[0].notes.map { [$0.start, $0.end, $0.pitch, $0.velocity] }
                    == notes.map { [$0.start, $0.end, $0.pitch, $0.velocity] })
            #expect(decoded.tempoChanges == file.tempoChanges)
        }
    }

    @Test func decodedFilesSurviveTheWriterAndReader() throws {
        // What `cadenza detokenize` writes must read back with the same notes and tempos.
        let tokenizer = try REMITokenizer()
        var rng = SplitMix(seed: 31)
        for _ in 0..<200 {
            let decoded = tokenizer.decode(ids: try tokenizer.tokenize(Self.randomFile(&rng)))
            let back = try MIDIFile(bytes: try decoded.encoded())
            #expect(back.noteCount == decoded.noteCount)
            #expect(back.tempoChanges == decoded.tempoChanges)
            // Same-pitch overlaps may pair differently on reading; onsets and pitches do not change.
            #expect(
                back.tracks.flatMap(\.notes).map { [$0.start, $0.pitch] }.sorted { $0.lexicographicallyPrecedes($1) }
                    == decoded.tracks[0].notes.map { [$0.start, $0.pitch] }.sorted { $0.lexicographicallyPrecedes($1) })
        }
    }

    @Test func decodedFilesAreAFixedPoint() throws {
        // Without chords, decode(tokenize(decode(ids))) == decode(ids): the decoder writes every
        // value so that the encoder reads back the same bin, step, position and bpm. The ids
        // themselves may differ in one way: notes at one onset come back ordered by pitch, as
        // their unsnapped onsets are gone. (With chords, note ends moved to whole duration
        // steps can change a chord window.)
        var config = TokenizerConfig()
        config.chords = false
        let tokenizer = try REMITokenizer(config: config)
        var rng = SplitMix(seed: 1816)
        func canonical(_ file: MIDIFile) -> [[Int]] {
            file.tracks[0].notes.map { [$0.start, $0.pitch, $0.end, $0.velocity] }.sorted {
                $0.lexicographicallyPrecedes($1)
            }
        }
        for trial in 0..<300 {
            let ids = try tokenizer.tokenize(Self.randomFile(&rng))
            let once = tokenizer.decode(ids: ids)
            let againIDs = try tokenizer.tokenize(once)
            let twice = tokenizer.decode(ids: againIDs)
            if canonical(twice) != canonical(once) || twice.tempoChanges != once.tempoChanges
                || againIDs.count != ids.count
                || againIDs.sorted() != ids.sorted()
            {
                Issue.record("trial \(trial): not a fixed point (\(ids.count) ids, then \(againIDs.count))")
                break
            }
        }
    }
}
