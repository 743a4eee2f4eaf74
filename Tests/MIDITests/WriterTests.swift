import Testing
@testable import MIDI

struct WriterTests {
    /// A random file whose notes of one pitch and channel never overlap (touching and
    /// zero-length notes included), so that reading must give back exactly what was written.
    static func randomFile(seed: UInt64, tracks: Int = 3) -> MIDIFile {
        var random = TestRandom(seed: seed)
        var file = MIDIFile(division: .ticksPerBeat([96, 384, 480, 1_000].randomElement(using: &random)!))
        for t in 0..<tracks {
            var track = Track(name: t == 0 ? nil : "Track \(t) ü")
            let channel = t == 2 ? 9 : t
            var notes: [Note] = []
            for pitch in stride(from: Int.random(in: 20...40, using: &random), to: 100, by: 7) {
                var tick = Int.random(in: 0...50, using: &random)
                for _ in 0..<Int.random(in: 0...12, using: &random) {
                    let length = [0, 1, 5, 120, 700].randomElement(using: &random)!
                    notes.append(
                        Note(
                            start: tick, end: tick + length, pitch: pitch,
                            velocity: Int.random(in: 1...127, using: &random), channel: channel))
                    tick += length + [0, 0, 3, 200].randomElement(using: &random)!
                }
            }
            // The reader's order: by start, then pitch, file order kept among equals.
            track.notes = notes.enumerated().sorted {
                ($0.element.start, $0.element.pitch, $0.offset) < ($1.element.start, $1.element.pitch, $1.offset)
            }.map(\.element)
            for i in 0..<Int.random(in: 0...20, using: &random) {
                track.controlChanges.append(
                    ControlChange(
                        tick: i * 37, controller: [64, 7, 1].randomElement(using: &random)!,
                        value: Int.random(in: 0...127, using: &random), channel: channel))
            }
            track.programChanges = [ProgramChange(tick: 0, program: t * 5, channel: channel)]
            track.pitchBends = [
                PitchBend(tick: 3, value: -8192, channel: channel), PitchBend(tick: 9, value: 8191, channel: channel),
            ]
            track.texts = [TextEvent(tick: 0, kind: .marker, text: "A"), TextEvent(tick: 5, kind: .lyric, text: "là")]
            track.isDrum = channel == 9
            track.endTick = (notes.map(\.end) + [track.controlChanges.last?.tick ?? 0]).max()! + 10
            file.tracks.append(track)
        }
        file.tempoChanges = [TempoChange(tick: 0, microsecondsPerBeat: 600_000), TempoChange(tick: 100, bpm: 93.5)]
        file.timeSignatures = [TimeSignature(tick: 0, numerator: 7, denominator: 8)]
        file.keySignatures = [KeySignature(tick: 0, sharps: -2, isMinor: false)]
        return file
    }

    @Test func aNewFileIsFormatOneAt480TicksPerBeat() throws {
        let file = MIDIFile()
        #expect(file.division == .ticksPerBeat(480))
        let bytes = try file.encoded()
        #expect(bytes == SMF.header(format: 1, tracks: 0, division: 480))
    }

    @Test func writtenFilesReadBackIdentically() throws {
        for seed in UInt64(1)...40 {
            let file = Self.randomFile(seed: seed)
            let again = try MIDIFile(bytes: try file.encoded())
            #expect(again == file, "seed \(seed): \(MIDIFile.firstDifference(file, again))")
        }
    }

    /// Property, on 300 seeded tracks of arbitrary notes (same-pitch notes overlapping and
    /// crossing, zero-length, all on a few keys): every note comes back with its start, velocity
    /// and its own end, except that a note with a later note of its key inside it ends with
    /// that note (MIDI's first-in first-out pairing cannot tell them apart; before, the two
    /// came back with their ends exchanged); and what was read once is a fixed point of
    /// write-then-read.
    @Test func arbitraryNotesKeepStartsAndEndsAndReachAFixedPoint() throws {
        var random = TestRandom(seed: 11)
        for round in 0..<300 {
            let notes = (0..<Int.random(in: 0...60, using: &random)).map { _ -> Note in
                let start = Int.random(in: 0...400, using: &random)
                return Note(
                    start: start, end: start + [0, 0, 1, 30, 200].randomElement(using: &random)!,
                    pitch: Int.random(in: 60...62, using: &random),
                    velocity: Int.random(in: 1...127, using: &random),
                    channel: Int.random(in: 0...1, using: &random))
            }
            let file = MIDIFile(division: .ticksPerBeat(96), tracks: [Track(notes: notes, endTick: 700)])
            let once = try MIDIFile(bytes: try file.encoded())
            let read = once.tracks[0].notes
            func starts(_ n: [Note]) -> [[Int]] {
                n.map { [$0.start, $0.pitch, $0.channel, $0.velocity] }.sorted { $0.lexicographicallyPrecedes($1) }
            }
            func whole(_ n: [Note]) -> [[Int]] {
                n.map { [$0.start, $0.pitch, $0.channel, $0.velocity, $0.end] }.sorted {
                    $0.lexicographicallyPrecedes($1)
                }
            }
            #expect(starts(read) == starts(notes), "round \(round)")
            let written = zip(notes, MIDIWriter.pairableEnds(Track(notes: notes))).map { note, end in
                Note(start: note.start, end: end, pitch: note.pitch, velocity: note.velocity, channel: note.channel)
            }
            #expect(whole(read) == whole(written), "round \(round)")
            #expect(zip(notes, written).allSatisfy { $1.end <= $0.end && $1.end >= $1.start }, "round \(round)")
            #expect(try MIDIFile(bytes: try once.encoded()) == once, "round \(round)")
        }
    }

    @Test func writingUsesRunningStatus() throws {
        let chord = Track(notes: [60, 64, 67].map { Note(start: 0, end: 96, pitch: $0, velocity: 80) }, endTick: 96)
        let bytes = try MIDIFile(division: .ticksPerBeat(96), tracks: [chord]).encoded()
        // One 0x90 status for six events; each later event is delta + 2 data bytes.
        let body = Array(bytes[22...])
        #expect(
            body == [
                0x00, 0x90, 60, 80, 0x00, 64, 80, 0x00, 67, 80,
                0x60, 60, 0, 0x00, 64, 0, 0x00, 67, 0, 0x00, 0xFF, 0x2F, 0x00,
            ])
    }

    @Test func formatZeroOnRequestMergesTheTracks() throws {
        let file = Self.randomFile(seed: 99)
        let bytes = try file.encoded(as: .singleTrack)
        let again = try MIDIFile(bytes: bytes)
        #expect(again.format == .singleTrack)
        #expect(again.tracks.count == 1)
        #expect(again.noteCount == file.noteCount)
        #expect(Set(again.tracks[0].notes) == Set(file.tracks.flatMap(\.notes)))
        #expect(again.tracks[0].name == "Track 1 ü")
        #expect(again.tempoChanges == file.tempoChanges)
    }

    @Test func anyPPQAndSMPTEAreWritten() throws {
        let file = Self.randomFile(seed: 5)
        for ppq in [7_919, 32_767] {  // scaling up keeps every note apart
            let scaled = file.rescaled(toTicksPerBeat: ppq)
            #expect(try MIDIFile(bytes: try scaled.encoded()) == scaled)
        }
        for ppq in [1, 24] {  // scaling down merges ticks: notes survive, pairing may change
            let scaled = file.rescaled(toTicksPerBeat: ppq)
            let read = try MIDIFile(bytes: try scaled.encoded())
            #expect(read.division == .ticksPerBeat(ppq))
            #expect(read.noteCount == file.noteCount)
            #expect(try MIDIFile(bytes: try read.encoded()) == read)
        }
        var smpte = file
        smpte.division = .smpte(framesPerSecond: 29, ticksPerFrame: 80)
        #expect(try MIDIFile(bytes: try smpte.encoded()) == smpte)
    }

    @Test func rescalingRoundsTicksToTheNearest() {
        var file = MIDIFile(division: .ticksPerBeat(480))
        file.tracks = [Track(notes: [Note(start: 480, end: 721, pitch: 60, velocity: 1)], endTick: 1_000)]
        let scaled = file.rescaled(toTicksPerBeat: 96)
        #expect(scaled.tracks[0].notes[0].start == 96)
        #expect(scaled.tracks[0].notes[0].end == 144)  // 721 * 96 / 480 = 144.2
        #expect(scaled.tracks[0].endTick == 200)
    }

    @Test func valuesThatDoNotFitAreRefused() {
        func refuses(_ track: Track) -> Bool {
            do { _ = try MIDIFile(tracks: [track]).encoded(); return false } catch let e as MIDIError {
                if case .unwritable = e { return true }
                return false
            } catch { return false }
        }
        #expect(refuses(Track(notes: [Note(start: 0, end: 1, pitch: 128, velocity: 1)])))
        #expect(refuses(Track(notes: [Note(start: 0, end: 1, pitch: 1, velocity: 0)])))
        #expect(refuses(Track(notes: [Note(start: 5, end: 1, pitch: 1, velocity: 1)])))
        #expect(refuses(Track(notes: [Note(start: -1, end: 1, pitch: 1, velocity: 1)])))
        #expect(refuses(Track(notes: [Note(start: 0, end: 0x1000_0000, pitch: 1, velocity: 1)])))
        #expect(refuses(Track(controlChanges: [ControlChange(tick: 0, controller: 64, value: 128)])))
        #expect(refuses(Track(pitchBends: [PitchBend(tick: 0, value: 8192)])))
        #expect(refuses(Track(notes: [Note(start: 0, end: 1, pitch: 1, velocity: 1, channel: 16)])))
        #expect(throws: MIDIError.self) {
            _ = try MIDIFile(division: .ticksPerBeat(40_000)).encoded()
        }
    }
}
