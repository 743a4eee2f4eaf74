import Corpus
import Foundation
import MIDI
import Testing
@testable import Evaluation

/// A hand-built piece at 480 ticks per beat, no tempo event (120 bpm: a beat is 0.5 s):
///
///     C4 (60) ticks    0 ...  480  velocity 100
///     E4 (64) ticks    0 ...  480  velocity  80
///     G4 (67) ticks    0 ...  960  velocity  60
///     C5 (72) ticks  960 ... 1440  velocity 100
///     drum 36 ticks 1920 ... 2000  velocity 127 (channel 10)
///     sustain pedal up at tick 2400
///
/// Every value below is worked out by hand in its comment.
private let piece = MIDIFile(
    division: .ticksPerBeat(480),
    tracks: [
        Track(
            notes: [
                Note(start: 0, end: 480, pitch: 60, velocity: 100), Note(start: 0, end: 480, pitch: 64, velocity: 80),
                Note(start: 0, end: 960, pitch: 67, velocity: 60),
                Note(start: 960, end: 1_440, pitch: 72, velocity: 100),
            ],
            controlChanges: [ControlChange(tick: 2_400, controller: 64, value: 0)]),
        Track(notes: [Note(start: 1_920, end: 2_000, pitch: 36, velocity: 127, channel: 9)], isDrum: true),
    ])

private func close(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance }

@Test func pitchMetricsOfTheHandBuiltPiece() {
    let m = MusicalMetrics.measure(piece)
    #expect(m[.pitchRange] == 12)  // 72 - 60; the drum's 36 is not a pitch
    #expect(m[.pitchesUsed] == 4)
    #expect(m[.pitchClassesUsed] == 3)  // C, E, G
    #expect(close(m[.pitchEntropy], 2))  // four pitches once each: log2 4
    #expect(close(m[.pitchClassEntropy], 1.5))  // C 1/2, E 1/4, G 1/4: 0.5*1 + 2*0.25*2
    #expect(m[.scaleConsistency] == 1)  // all in C major
    #expect(m.pitchClassHistogram == [0.5, 0, 0, 0, 0.25, 0, 0, 0.25, 0, 0, 0, 0])
}

@Test func polyphonyOfTheHandBuiltPiece() {
    let m = MusicalMetrics.measure(piece)
    // Ticks 0-480: 3 pitches; 480-960: 1; 960-1440: 1. 2,400 pitch-ticks over 1,440 sounding
    // ticks = 5/3. More than two pitches for 480 of the 2,400 ticks of the song (its length
    // runs to the pedal event at 2,400): 0.2.
    #expect(close(m[.polyphony], 5.0 / 3.0))
    #expect(close(m[.polyphonyRate], 0.2))
}

@Test func rhythmMetricsOfTheHandBuiltPiece() {
    let m = MusicalMetrics.measure(piece)
    // 2400 / 480 + 1 = 6 beats. C4 and E4 fill beats 0-1 (an end on a beat boundary counts the
    // next beat, as in MusPy), G4 0-2, C5 2-3, the drum 4: beat 5 alone is empty.
    #expect(close(m[.emptyBeatRate], 1.0 / 6.0))
    // Two 1,920-tick measures: onsets {0, 960} then {0} (the drum): one differing tick of 1,920.
    #expect(close(m[.grooveConsistency], 1 - 1.0 / 1_920))
}

@Test func densityTimingAndDynamicsOfTheHandBuiltPiece() {
    let m = MusicalMetrics.measure(piece)
    #expect(m[.noteCount] == 4)
    #expect(close(m[.notesPerSecond], 4 / 1.5))  // the last pitched note ends at 1440 = 3 beats = 1.5 s
    #expect(close(m[.notesPerBeat], 4 / 3.0))  // over 3 beats
    #expect(close(m[.interOnsetMean], 1.0))  // onsets at 0 s and 1 s
    #expect(m[.interOnsetStd].isNaN)  // one interval has no spread
    #expect(close(m[.velocityMean], 85))  // (100 + 80 + 60 + 100) / 4
    #expect(close(m[.velocityStd], 275.0.squareRoot()))  // (225 + 25 + 625 + 225) / 4 = 275
    #expect(m[.velocityMin] == 60 && m[.velocityMax] == 100)
}

@Test func beatStatisticsOfTheHandBuiltPiece() {
    let m = MusicalMetrics.measure(piece)
    // Onsets: three at position 1 of 16, one at position 9 (tick 960 = 8 sixteenths).
    #expect(m[.onBeatRate] == 1)
    #expect(m[.downbeatRate] == 0.75)
    // Velocity on beat 1: 240; on beat 3: 100; mean over the four beats 85: 240 / 85.
    #expect(close(m[.downbeatSalience], 240.0 / 85.0))
    #expect(m[.gridDeviation] == 0)
    #expect(m.positionHistogram[0] == 0.75 && m.positionHistogram[8] == 0.25)
}

@Test func onsetsSnapToTheNearestSixteenthWithTiesToTheEarlier() {
    // At 480 ticks per beat a sixteenth is 120 ticks. Tick 30: 0.25 from step 0. Tick 60: a tie,
    // to step 0. Tick 7,650: 63.75 sixteenths, snapped to step 64 = position 1 of bar 5.
    let notes = [30, 60, 7_650].map { Note(start: $0, end: $0 + 100, pitch: 60, velocity: 64) }
    let m = MusicalMetrics.measure(MIDIFile(tracks: [Track(notes: notes)]))
    #expect(m.positionHistogram[0] == 1)
    #expect(close(m[.gridDeviation], (0.25 + 0.5 + 0.25) / 3))
}

@Test func emptyAndSMPTEFilesGiveUndefinedValuesNotCrashes() {
    let empty = MusicalMetrics.measure(MIDIFile(tracks: [Track()]))
    #expect(empty[.pitchRange] == 0 && empty[.noteCount] == 0)
    for metric: Metric in [
        .pitchEntropy, .scaleConsistency, .polyphony, .polyphonyRate, .emptyBeatRate,
        .grooveConsistency, .notesPerSecond, .interOnsetMean, .velocityMean, .onBeatRate,
    ] {
        #expect(empty[metric].isNaN, "\(metric)")
    }
    let smpte = MusicalMetrics.measure(
        MIDIFile(
            division: .smpte(framesPerSecond: 25, ticksPerFrame: 40),
            tracks: [Track(notes: [Note(start: 0, end: 1_000, pitch: 60, velocity: 90)])]))
    #expect(smpte[.pitchRange] == 0 && smpte[.noteCount] == 1)
    #expect(close(smpte[.notesPerSecond], 1))  // 1,000 ticks at 25 x 40 ticks per second
    #expect(smpte[.emptyBeatRate].isNaN && smpte[.onBeatRate].isNaN)
}

@Test func scaleConsistencyFindsTheBestOfTwentyFourScales() {
    // Pitch classes A B C D E F G G#, once each. C major (= A natural minor) holds 7 of 8;
    // no scale holds all 8 (a 7-note scale cannot), so 7/8.
    let pcs = [9, 11, 0, 2, 4, 5, 7, 8]
    let notes = pcs.map { Note(start: 0, end: 10, pitch: 60 + $0, velocity: 64) }
    #expect(close(MusicalMetrics.scaleConsistency(notes), 7.0 / 8.0))
}

@Test func overlapOfDistributions() {
    let a = (0..<200).map { Double($0) / 199 }  // uniform on [0, 1]
    let shifted = a.map { $0 + 0.5 }  // uniform on [0.5, 1.5]: true overlap 0.5
    #expect(abs(DistributionOverlap.overlappingArea(a, a) - 1) < 1e-6)
    #expect(abs(DistributionOverlap.overlappingArea(a, shifted) - 0.5) < 0.05)
    #expect(DistributionOverlap.overlappingArea(a, a.map { $0 + 10 }) < 1e-6)
    // Constant sets: equal ones overlap fully, different ones not at all.
    #expect(abs(DistributionOverlap.overlappingArea([1, 1, 1], [1, 1]) - 1) < 1e-3)
    #expect(DistributionOverlap.overlappingArea([1, 1, 1], [2, 2]) < 1e-6)
    #expect(DistributionOverlap.overlappingArea([.nan], [1]).isNaN)
}

@Test func comparingASetWithItselfOverlapsFully() {
    let pieces = [
        MusicalMetrics.measure(piece, path: "a"),
        MusicalMetrics.measure(
            MIDIFile(tracks: [Track(notes: [Note(start: 0, end: 480, pitch: 62, velocity: 50)])]), path: "b"),
    ]
    let comparison = SetComparison(a: pieces, b: pieces)
    for row in comparison.rows where !row.overlap.isNaN { #expect(abs(row.overlap - 1) < 1e-3, "\(row.metric)") }
    #expect(abs(comparison.pitchClassOverlap - 1) < 1e-12)
}

@Test func collectionTakesFilesAndCorporaWithTheirSplit() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("cadenza-metrics-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for name in ["a.mid", "sub/b.MIDI", "notes.txt"] {
        FileManager.default.createFile(atPath: dir.appendingPathComponent(name).path, contents: Data([0]))
    }
    try Data("canonical_title,split,midi_filename\n\"Fugue, in C\",test,a.mid\nx,train,sub/b.MIDI\n".utf8)
        .write(to: dir.appendingPathComponent("list.csv"))
    let single = try MIDICollection.files([dir.appendingPathComponent("a.mid").path])
    #expect(single.map(\.lastPathComponent) == ["a.mid"])
    // A folder holding a MAESTRO-style CSV is read through it, as training reads it.
    #expect(try MIDICollection.files([dir.path]).map(\.lastPathComponent) == ["a.mid", "b.MIDI"])
    #expect(try MIDICollection.files([dir.path], split: .test).map(\.lastPathComponent) == ["a.mid"])
    #expect(throws: (any Error).self) { try MIDICollection.files([dir.appendingPathComponent("missing.mid").path]) }
}

@Test func jsonWritesOneLinePerPieceWithNaNAsNull() throws {
    let empty = MusicalMetrics.measure(MIDIFile(tracks: [Track()]), path: "empty.mid")
    let text = try MetricsReport.jsonLines([empty, empty])
    let lines = text.split(separator: "\n")
    #expect(lines.count == 2)
    let first = try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any]
    #expect(first?["path"] as? String == "empty.mid")
    #expect(first?["error"] is NSNull)
    #expect(first?["polyphony"] is NSNull)
    #expect(first?["pitch_range"] as? Double == 0)
    // A skipped file has the same keys, with its error.
    let skipped =
        try JSONSerialization.jsonObject(
            with: Data(try MetricsReport.jsonLine(skipped: "bad.mid", error: "truncated").utf8))
        as? [String: Any]
    #expect(Set(skipped?.keys.map { $0 } ?? []) == Set(first?.keys.map { $0 } ?? []))
    #expect(skipped?["error"] as? String == "truncated")
}

/// Bar-to-bar self-similarity: four bars (C, E, G, C+E, each a bar of 4 beats at 480 ticks)
/// played four times over, with bar 6 left empty. Bars 4 apart are the same bar (similarity 1);
/// bars 1 apart differ, and the empty bar takes part in no pair.
@Test func pitchClassSelfSimilarityFindsTheRepeats() {
    let cycle: [[Int]] = [[60], [64], [67], [60, 64]]
    var notes: [Note] = []
    for bar in 0..<16 where bar != 6 {
        for pitch in cycle[bar % 4] {
            notes.append(Note(start: bar * 1_920, end: bar * 1_920 + 480, pitch: pitch, velocity: 80))
        }
    }
    let m = MusicalMetrics.measure(MIDIFile(division: .ticksPerBeat(480), tracks: [Track(notes: notes)]))
    for metric in [Metric.pitchClassSimilarity4, .pitchClassSimilarity8] { #expect(close(m[metric], 1)) }
    // d = 1: pairs (C,E) 0, (E,G) 0, (G,CE) 0, (CE,C) 1/sqrt2, four times over, less the pairs
    // with bar 6 (G): (5,6) E-G and (6,7) G-CE, both 0. 13 pairs, 3 of them (CE,C) and one fewer
    // (bar 15 is the last): pairs (i, i+1) for i in 0..<15 except 5 and 6: 13 pairs; (CE,C) at
    // i = 3, 7, 11: 3 x 0.7071 / 13.
    #expect(close(m[.pitchClassSimilarity1], 3 * 0.5.squareRoot() / 13))
    // d = 16: no bar 16 bars after another.
    #expect(m[.pitchClassSimilarity16].isNaN)
}
