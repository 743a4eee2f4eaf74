import Testing
@testable import MIDI

/// Each kind of malformed file gives its own `MIDIError`, at the right byte offset.
struct ErrorTests {
    let note: [UInt8] = [0x00, 0x90, 60, 64, 0x10, 0x80, 60, 0] + SMF.endOfTrack

    func error(reading bytes: [UInt8]) -> MIDIError? {
        do {
            _ = try MIDIFile(bytes: bytes)
            return nil
        } catch let error as MIDIError {
            return error
        } catch {
            return nil
        }
    }

    @Test func notAMIDIFile() {
        #expect(error(reading: []) == .notMIDI(offset: 0))
        #expect(error(reading: Array("RIFF....WAVE".utf8)) == .notMIDI(offset: 0))
        #expect(error(reading: Array("MThd".utf8) + [0, 0]) == .truncated(offset: 4, what: "the MThd length"))
    }

    @Test func badHeaders() {
        var bytes = SMF.file(note)
        bytes[9] = 3  // format 3
        #expect(error(reading: bytes) == .badHeader(offset: 8, reason: "format 3 is not 0, 1 or 2"))
        bytes = SMF.file(division: 0, note)
        #expect(error(reading: bytes) == .badHeader(offset: 12, reason: "division of 0 ticks per beat"))
        bytes = SMF.file(division: 0xE500, note)  // -27 fps
        #expect(error(reading: bytes)?.offset == 12)
        bytes = SMF.file(note)
        bytes[7] = 5  // header length 5
        #expect(error(reading: bytes) == .badHeader(offset: 4, reason: "header length 5 is below 6"))
        bytes[7] = 200  // header length past the end
        #expect(
            error(reading: bytes)
                == .chunkPastEnd(
                    offset: 0, chunk: "MThd", length: 200,
                    available: bytes.count - 8))
    }

    @Test func chunkLengthPastTheEnd() {
        var bytes = SMF.file(note)
        bytes[14 + 7] = 0xFF  // MTrk length 255, only 12 bytes there
        #expect(error(reading: bytes) == .chunkPastEnd(offset: 14, chunk: "MTrk", length: 255, available: 12))
        // A lying length of 4 GiB is refused before anything is allocated.
        bytes.replaceSubrange(18..<22, with: [0xFF, 0xFF, 0xFF, 0xFF])
        #expect(error(reading: bytes)?.offset == 14)
    }

    @Test func truncatedFiles() {
        let bytes = SMF.file(note, note)
        #expect(error(reading: Array(bytes.prefix(14 + 20 + 3))) == .truncated(offset: 34, what: "a chunk header"))
        #expect(error(reading: Array(bytes.prefix(14 + 20))) == .missingTracks(offset: 34, expected: 2, found: 1))
        // A channel message cut by the end of its chunk.
        let cut = SMF.file([0x00, 0x90, 60])
        #expect(error(reading: cut) == .truncated(offset: 25, what: "a channel message"))
        // A meta event whose length runs past its chunk.
        let meta = SMF.file([0x00, 0xFF, 0x01, 0x09, 0x41])
        #expect(error(reading: meta) == .truncated(offset: 23, what: "a meta event (its length runs past the chunk)"))
    }

    @Test func variableLengthQuantityLongerThanFourBytes() {
        let bytes = SMF.file([0x81, 0x80, 0x80, 0x80, 0x00, 0x90, 60, 64])
        #expect(error(reading: bytes) == .variableLengthTooLong(offset: 22))
    }

    @Test func dataByteWithoutRunningStatus() {
        #expect(error(reading: SMF.file([0x00, 0x3C, 0x40])) == .missingStatus(offset: 23, byte: 0x3C))
        // Meta events do not start a running status.
        let afterMeta = SMF.file([0x00, 0xFF, 0x01, 0x00, 0x00, 0x3C, 0x40])
        #expect(error(reading: afterMeta) == .missingStatus(offset: 27, byte: 0x3C))
    }

    @Test func statusByteWhereDataIsNeeded() {
        let bytes = SMF.file([0x00, 0x90, 0x3C, 0x90])
        #expect(
            error(reading: bytes)
                == .unexpectedByte(
                    offset: 25, byte: 0x90,
                    reason: "a status byte inside a channel message's data"))
        let system = SMF.file([0x00, 0xF2, 0x00, 0x00])
        #expect(error(reading: system)?.offset == 23)
    }

    @Test func badMetaEvents() {
        let shortTempo = SMF.file([0x00, 0xFF, 0x51, 0x02, 0x07, 0xA1] + SMF.endOfTrack)
        #expect(
            error(reading: shortTempo)
                == .badMetaEvent(
                    offset: 23, type: 0x51,
                    reason: "set-tempo holds 2 bytes, needs 3"))
        let zeroTempo = SMF.file([0x00, 0xFF, 0x51, 0x03, 0, 0, 0] + SMF.endOfTrack)
        #expect(error(reading: zeroTempo)?.offset == 23)
        let hugeDenominator = SMF.file([0x00, 0xFF, 0x58, 0x04, 4, 40, 24, 8] + SMF.endOfTrack)
        #expect(error(reading: hugeDenominator)?.offset == 23)
    }

    @Test func descriptionsNameTheOffsetAndTheReason() {
        let text = MIDIError.missingStatus(offset: 23, byte: 0x3C).description
        #expect(text == "data byte 0x3C at byte 23 where a status byte is needed (no running status in effect)")
        #expect(MIDIError.notMIDI(offset: 0).description.contains("not a MIDI file"))
    }
}
