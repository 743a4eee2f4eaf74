import Testing
@testable import MIDI

struct TempoMapTests {
    @Test func withoutTempoEventsTimeRunsAt120BeatsPerMinute() {
        let map = TempoMap(division: .ticksPerBeat(480), tempoChanges: [])
        #expect(map.seconds(atTick: 480) == 0.5)
        #expect(map.seconds(atTick: 48_000) == 50)
        #expect(map.tick(atSeconds: 50) == 48_000)
        #expect(map.microsecondsPerBeat(atTick: 0) == 500_000)
    }

    @Test func eachSegmentRunsAtItsOwnTempo() {
        let map = TempoMap(
            division: .ticksPerBeat(480),
            tempoChanges: [
                TempoChange(tick: 960, bpm: 60),  // after 1 s at 120 bpm
                TempoChange(tick: 1_440, microsecondsPerBeat: 250_000),  // after 1 more second
            ])
        #expect(map.seconds(atTick: 960) == 1.0)
        #expect(map.seconds(atTick: 1_200) == 1.5)
        #expect(map.seconds(atTick: 1_440) == 2.0)
        #expect(map.seconds(atTick: 1_920) == 2.25)
        #expect(map.tick(atSeconds: 1.5) == 1_200)
        #expect(map.tick(atSeconds: 2.25) == 1_920)
        #expect(map.microsecondsPerBeat(atTick: 1_439) == 1_000_000)
    }

    @Test func theLastOfSeveralTempoChangesAtOneTickWins() {
        let map = TempoMap(
            division: .ticksPerBeat(96),
            tempoChanges: [
                TempoChange(tick: 0, microsecondsPerBeat: 1_000_000),
                TempoChange(tick: 0, microsecondsPerBeat: 2_000_000),
            ])
        #expect(map.seconds(atTick: 96) == 2.0)
    }

    @Test func ticksToSecondsAndBackIsExactForEveryTick() {
        // Awkward tempos (prime microseconds) and PPQs, many changes, about 30 minutes.
        var random = TestRandom(seed: 7)
        for ppq in [96, 384, 480, 959] {
            var changes: [TempoChange] = []
            var tick = 0
            for _ in 0..<60 {
                changes.append(
                    TempoChange(tick: tick, microsecondsPerBeat: Int.random(in: 200_003...1_500_007, using: &random)))
                tick += Int.random(in: 1...(ppq * 16), using: &random)
            }
            let map = TempoMap(division: .ticksPerBeat(ppq), tempoChanges: changes)
            var previous = -1.0
            var failures = 0
            for t in stride(from: 0, through: tick + 10_000, by: 1) {
                let s = map.seconds(atTick: t)
                if map.tick(atSeconds: s) != t || s <= previous { failures += 1 }
                previous = s
            }
            #expect(failures == 0, "PPQ \(ppq)")
        }
    }

    @Test func absurdSecondsDoNotTrap() {
        let map = TempoMap(division: .ticksPerBeat(480), tempoChanges: [])
        #expect(map.tick(atSeconds: .nan) == 0)
        #expect(map.tick(atSeconds: .infinity) == 0)
        #expect(map.tick(atSeconds: 1e300) > 0)
    }

    @Test func fileLengthIsTheTimeOfTheLastTick() throws {
        let conductor: [UInt8] = [0x00, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40] + SMF.endOfTrack  // 60 bpm
        let notes: [UInt8] = [0x00, 0x90, 60, 64, 0x83, 0x60, 0x80, 60, 0, 0x83, 0x60, 0xFF, 0x2F, 0x00]
        let file = try MIDIFile(bytes: SMF.file(division: 480, conductor, notes))
        #expect(file.endTick == 960)
        #expect(file.seconds == 2.0)
    }
}

/// `cropped(toTicks:)`: what a passage keeps of the file.
struct CropTests {
    @Test func aCropKeepsTheControllersInForceAndInside() {
        let pedal = [(0, 127), (900, 0), (1_500, 127), (2_100, 0)].map {
            ControlChange(tick: $0.0, controller: 64, value: $0.1, channel: 0)
        }
        let volume = ControlChange(tick: 100, controller: 7, value: 90, channel: 0)
        let notes = (0..<8).map { Note(start: $0 * 480, end: $0 * 480 + 400, pitch: 60 + $0, velocity: 80) }
        let file = MIDIFile(
            division: .ticksPerBeat(480),
            tracks: [Track(notes: notes, controlChanges: [pedal[0], volume] + pedal.dropFirst(), endTick: 3_840)])
        let passage = file.cropped(toTicks: 1_000..<2_000)
        let kept = passage.tracks[0].controlChanges.map { [$0.tick, $0.controller, $0.value] }
        // The volume and the pedal (released at 900) in force at tick 1,000, then the pedal's
        // change at 1,500; not the one at 2,100.
        #expect(kept == [[0, 7, 90], [0, 64, 0], [500, 64, 127]])
        #expect(passage.tracks[0].notes.map(\.pitch) == [63, 64])
        #expect(passage.tracks[0].notes.map(\.start) == [440, 920])
        // Nothing cut: the same events.
        let whole = file.cropped(toTicks: 0..<1_000_000)
        #expect(whole.tracks[0].controlChanges == file.tracks[0].controlChanges)
        #expect(whole.tracks[0].notes == file.tracks[0].notes)
    }
}
