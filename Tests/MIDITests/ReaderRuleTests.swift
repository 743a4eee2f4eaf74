import Testing
@testable import MIDI

/// One test per reading rule of issue 2, each on a file built here byte by byte.
struct ReaderRuleTests {
    @Test func runningStatusRepeatsTheLastChannelStatus() throws {
        // 90 3C 40, then two note-ons without a status byte, then note-offs the same way.
        let body: [UInt8] =
            [
                0x00, 0x90, 60, 64, 0x00, 64, 70, 0x00, 67, 80,
                0x60, 0x80, 60, 0, 0x00, 64, 0, 0x00, 67, 0,
            ] + SMF.endOfTrack
        let file = try MIDIFile(bytes: SMF.file(body))
        #expect(
            file.tracks[0].notes == [
                Note(start: 0, end: 96, pitch: 60, velocity: 64),
                Note(start: 0, end: 96, pitch: 64, velocity: 70),
                Note(start: 0, end: 96, pitch: 67, velocity: 80),
            ])
    }

    @Test func runningStatusSurvivesMetaAndSysexEvents() throws {
        // Real files keep running status across meta and sysex; mido does too.
        let body: [UInt8] =
            [
                0x00, 0x91, 60, 64,
                0x00, 0xFF, 0x01, 0x02, 0x68, 0x69,  // text "hi"
                0x00, 0xF0, 0x03, 0x7E, 0x00, 0xF7,  // sysex
                0x10, 60, 0,  // running status: note-on ch 1, vel 0
                0x00, 62, 50, 0x10, 62, 0,
            ] + SMF.endOfTrack
        let file = try MIDIFile(bytes: SMF.file(body))
        #expect(
            file.tracks[0].notes == [
                Note(start: 0, end: 16, pitch: 60, velocity: 64, channel: 1),
                Note(start: 16, end: 32, pitch: 62, velocity: 50, channel: 1),
            ])
        #expect(file.tracks[0].texts == [TextEvent(tick: 0, kind: .text, text: "hi")])
    }

    @Test func noteOnWithVelocityZeroIsANoteOff() throws {
        let body: [UInt8] =
            [
                0x00, 0x90, 60, 100, 0x30, 0x90, 60, 0,
                0x00, 0x90, 61, 100, 0x30, 0x80, 61, 99,
            ] + SMF.endOfTrack
        let notes = try MIDIFile(bytes: SMF.file(body)).tracks[0].notes
        #expect(
            notes == [
                Note(start: 0, end: 48, pitch: 60, velocity: 100),
                Note(start: 48, end: 96, pitch: 61, velocity: 100),
            ])
    }

    @Test func overlappingNotesOfOnePitchAndChannelPairFirstInFirstOut() throws {
        // on 60 @0 (vel 10), on 60 @10 (vel 20), off @20, off @30; on 60 on channel 2 @5 is separate.
        let body: [UInt8] =
            [
                0x00, 0x90, 60, 10, 0x05, 0x92, 60, 30, 0x05, 0x90, 60, 20,
                0x0A, 0x80, 60, 0, 0x0A, 0x80, 60, 0, 0x0A, 0x82, 60, 0,
            ] + SMF.endOfTrack
        let notes = try MIDIFile(bytes: SMF.file(body)).tracks[0].notes
        #expect(
            notes == [
                Note(start: 0, end: 20, pitch: 60, velocity: 10),
                Note(start: 5, end: 40, pitch: 60, velocity: 30, channel: 2),
                Note(start: 10, end: 30, pitch: 60, velocity: 20),
            ])
    }

    @Test func notesNeverReleasedEndWithTheirTrack() throws {
        let body: [UInt8] = [
            0x00, 0x90, 60, 64, 0x10, 0x90, 62, 64, 0x20, 0xB0, 64, 127,
            0x40, 0xFF, 0x2F, 0x00,
        ]
        let track = try MIDIFile(bytes: SMF.file(body)).tracks[0]
        #expect(track.endTick == 112)
        #expect(track.notes.map(\.end) == [112, 112])
    }

    @Test func zeroLengthNotesAreKept() throws {
        let body: [UInt8] = [0x00, 0x90, 60, 64, 0x00, 0x80, 60, 0, 0x10, 0x90, 61, 1] + SMF.endOfTrack
        let notes = try MIDIFile(bytes: SMF.file(body)).tracks[0].notes
        #expect(
            notes == [
                Note(start: 0, end: 0, pitch: 60, velocity: 64),
                Note(start: 16, end: 16, pitch: 61, velocity: 1),
            ])  // closed at EOT
    }

    @Test func notesAreSortedByStartThenPitchKeepingFileOrder() throws {
        let body: [UInt8] =
            [
                0x00, 0x90, 67, 1, 0x00, 0x91, 60, 2, 0x00, 0x90, 60, 3, 0x00, 0x90, 64, 4,
                0x10, 0x80, 67, 0, 0x00, 0x81, 60, 0, 0x00, 0x80, 60, 0, 0x00, 0x80, 64, 0,
            ]
            + SMF.endOfTrack
        let notes = try MIDIFile(bytes: SMF.file(body)).tracks[0].notes
        #expect(notes.map(\.velocity) == [2, 3, 4, 1])
    }

    @Test func manyNotesOnOneTickSortInLinearTime() throws {
        // 150,000 note-ons at tick 0, pitches alternating high and low: quadratic sorting
        // would take minutes. Each note-on is 2 bytes of data after a delta of 0.
        var body: [UInt8] = [0x00, 0x90, 127, 1]
        for i in 1..<150_000 { body += [0x00, i % 2 == 0 ? 127 : 0, 1] }
        body += SMF.endOfTrack
        let start = ContinuousClock.now
        let notes = try MIDIFile(bytes: SMF.file(body)).tracks[0].notes
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(notes.count == 150_000)
        #expect(notes.prefix(75_000).allSatisfy { $0.pitch == 0 })
        #expect(notes.suffix(75_000).allSatisfy { $0.pitch == 127 })
    }

    @Test func smpteDivisionTimesTicksInFramesNotBeats() throws {
        // -25 fps (0xE7), 40 ticks per frame: 1,000 ticks per second whatever the tempo says.
        let body: [UInt8] =
            [
                0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,  // 500,000 µs: ignored
                0x00, 0x90, 60, 64, 0x87, 0x68, 0x80, 60, 0,
            ] + SMF.endOfTrack
        let file = try MIDIFile(bytes: SMF.file(format: 0, division: 0xE728, body))
        #expect(file.division == .smpte(framesPerSecond: 25, ticksPerFrame: 40))
        #expect(file.ticksPerBeat == nil)
        #expect(file.tracks[0].notes == [Note(start: 0, end: 1_000, pitch: 60, velocity: 64)])
        #expect(file.seconds == 1.0)
        #expect(file.tempoMap.tick(atSeconds: 2.5) == 2_500)
        // 29 means NTSC drop-frame: 30000/1001 frames per second.
        let ntsc = TempoMap(division: .smpte(framesPerSecond: 29, ticksPerFrame: 100), tempoChanges: [])
        #expect(abs(ntsc.seconds(atTick: 30_000) - 10.01) < 1e-12)  // 30000 / (30000/1001 x 100)
    }

    @Test func formatTwoKeepsIndependentTracks() throws {
        let a: [UInt8] = [0x00, 0x90, 60, 64, 0x10, 0x80, 60, 0] + SMF.endOfTrack
        let b: [UInt8] = [0x00, 0xFF, 0x03, 0x01, 0x42, 0x00, 0x90, 70, 64, 0x20, 0x80, 70, 0] + SMF.endOfTrack
        let file = try MIDIFile(bytes: SMF.file(format: 2, a, b))
        #expect(file.format == .multiSequence)
        #expect(file.tracks.count == 2)
        #expect(file.tracks[1].name == "B")
        #expect(file.tracks.map(\.endTick) == [16, 32])
        #expect(file.tracks[1].notes == [Note(start: 0, end: 32, pitch: 70, velocity: 64)])
    }

    @Test func formatZeroIsOneTrackWhoseEventsKeepTheirChannels() throws {
        let body: [UInt8] =
            [
                0x00, 0xC0, 0, 0x00, 0x99, 36, 100, 0x00, 0x90, 60, 80,
                0x10, 0x89, 36, 0, 0x00, 0x80, 60, 0,
            ] + SMF.endOfTrack
        let file = try MIDIFile(bytes: SMF.file(format: 0, body))
        #expect(file.format == .singleTrack)
        #expect(file.tracks.count == 1)
        #expect(file.tracks[0].isDrum == false)  // mixed channels
        #expect(file.tracks[0].notes.map(\.isDrum) == [true, false])
        #expect(file.tracks[0].programChanges == [ProgramChange(tick: 0, program: 0, channel: 0)])
    }

    @Test func channelTenIsMarkedAsDrums() throws {
        let drums: [UInt8] = [0x00, 0x99, 36, 100, 0x10, 0x89, 36, 0] + SMF.endOfTrack
        let piano: [UInt8] = [0x00, 0x90, 36, 100, 0x10, 0x80, 36, 0] + SMF.endOfTrack
        let file = try MIDIFile(bytes: SMF.file(drums, piano, SMF.endOfTrack))
        #expect(file.tracks.map(\.isDrum) == [true, false, false])
    }

    @Test func sysexEventsAreSkipped() throws {
        let body: [UInt8] =
            [
                0x00, 0xF0, 0x05, 0x7E, 0x7F, 0x09, 0x01, 0xF7,  // GM on
                0x00, 0xF7, 0x02, 0x43, 0x12,  // escape / continuation packet
                0x00, 0x90, 60, 64, 0x10, 0x80, 60, 0,
            ] + SMF.endOfTrack
        let file = try MIDIFile(bytes: SMF.file(body))
        #expect(file.tracks[0].notes == [Note(start: 0, end: 16, pitch: 60, velocity: 64)])
    }

    @Test func unknownChunksAreSkipped() throws {
        let track: [UInt8] = [0x00, 0x90, 60, 64, 0x10, 0x80, 60, 0] + SMF.endOfTrack
        let bytes =
            SMF.header(format: 1, tracks: 2, division: 96)
            + SMF.chunk("XFIH", [1, 2, 3, 0x90, 0xFF])
            + SMF.track(track)
            + SMF.chunk("junk", [])
            + SMF.track(track)
        let file = try MIDIFile(bytes: bytes)
        #expect(file.tracks.count == 2)
        #expect(file.tracks.allSatisfy { $0.notes.count == 1 })
    }

    @Test func unknownMetaEventsAreSkippedAndTextIsKept() throws {
        let body: [UInt8] =
            [0x00, 0xFF, 0x03, 0x05] + Array("Piano".utf8)
            + [0x00, 0xFF, 0x7F, 0x03, 0x00, 0x00, 0x41]  // sequencer-specific
            + [0x00, 0xFF, 0x60, 0x01, 0x00]  // undefined meta type
            + [0x00, 0xFF, 0x21, 0x01, 0x00]  // MIDI port
            + [0x05, 0xFF, 0x06, 0x05] + Array("Verse".utf8)
            + [0x05, 0xFF, 0x05, 0x03, 0x6C, 0xE0, 0x21]  // lyric in Latin-1: "là!"
            + [0x00, 0xFF, 0x58, 0x04, 0x03, 0x03, 0x18, 0x08]  // 3/8
            + [0x00, 0xFF, 0x59, 0x02, 0xFD, 0x01]  // 3 flats, minor
            + SMF.endOfTrack
        let file = try MIDIFile(bytes: SMF.file(body))
        #expect(file.tracks[0].name == "Piano")
        #expect(
            file.tracks[0].texts == [
                TextEvent(tick: 5, kind: .marker, text: "Verse"),
                TextEvent(tick: 10, kind: .lyric, text: "là!"),
            ])
        #expect(file.timeSignatures == [TimeSignature(tick: 10, numerator: 3, denominator: 8)])
        #expect(file.keySignatures == [KeySignature(tick: 10, sharps: -3, isMinor: true)])
    }

    @Test func missingEndOfTrackAndTrailingBytesAreTolerated() throws {
        let body: [UInt8] = [0x00, 0x90, 60, 64, 0x10, 0x80, 60, 0, 0x08, 0xB0, 64, 0]  // no EOT
        let bytes = SMF.file(body) + [0x00, 0x00, 0x1A, 0x1A, 0xFF]
        let track = try MIDIFile(bytes: bytes).tracks[0]
        #expect(track.notes == [Note(start: 0, end: 16, pitch: 60, velocity: 64)])
        #expect(track.endTick == 24)  // the last event's tick
        #expect(track.controlChanges == [ControlChange(tick: 24, controller: 64, value: 0)])
    }

    @Test func eventsAfterEndOfTrackAreIgnored() throws {
        let body: [UInt8] = SMF.endOfTrack + [0x00, 0x90, 60, 64, 0x00, 0x42]
        #expect(try MIDIFile(bytes: SMF.file(body)).tracks[0].notes.isEmpty)
    }

    @Test func tempoChangesFromEveryTrackFormOneMapSortedByTick() throws {
        let conductor: [UInt8] =
            [
                0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20,  // 120 bpm @0
                0x60, 0xFF, 0x51, 0x03, 0x0F, 0x42, 0x40,
            ] + SMF.endOfTrack  // 60 bpm @96
        let other: [UInt8] = [0x30, 0xFF, 0x51, 0x03, 0x03, 0xD0, 0x90] + SMF.endOfTrack  // 240 bpm @48
        let file = try MIDIFile(bytes: SMF.file(conductor, other))
        #expect(file.tempoChanges.map(\.tick) == [0, 48, 96])
        #expect(file.tempoChanges.map(\.bpm) == [120, 240, 60])
    }

    @Test func pitchBendAndProgramChangeAreRead() throws {
        let body: [UInt8] =
            [
                0x00, 0xC3, 41, 0x00, 0xE3, 0x00, 0x40, 0x05, 0xE3, 0x7F, 0x7F,
                0x00, 0xE3, 0x00, 0x00, 0x00, 0xA3, 60, 10, 0x00, 0xD3, 20,
            ] + SMF.endOfTrack
        let track = try MIDIFile(bytes: SMF.file(body)).tracks[0]
        #expect(track.programChanges == [ProgramChange(tick: 0, program: 41, channel: 3)])
        #expect(track.pitchBends.map(\.value) == [0, 8191, -8192])
    }
}
