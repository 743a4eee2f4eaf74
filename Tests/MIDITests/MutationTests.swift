import Testing
@testable import MIDI

/// Damaged files: every one of 12,000 seeded mutations of valid files either reads or throws a
/// `MIDIError`; never a crash, a hang or a huge allocation. What reads must also write and read
/// back the same.
struct MutationTests {
    /// Valid files to damage: written by the writer, plus hand-built ones that use what the
    /// writer never writes (sysex, unknown chunks and meta events, SMPTE, formats 0 and 2,
    /// running status across meta events, a missing End-of-Track).
    static func seeds() throws -> [[UInt8]] {
        var files: [[UInt8]] = []
        for seed in UInt64(1)...6 {
            files.append(try WriterTests.randomFile(seed: seed, tracks: 2).encoded())
        }
        files.append(try WriterTests.randomFile(seed: 7, tracks: 2).encoded(as: .singleTrack))
        let body: [UInt8] = [
            0x00, 0xFF, 0x03, 0x03, 0x41, 0x42, 0x43, 0x00, 0xF0, 0x03, 0x7E, 0x09, 0xF7,
            0x00, 0x90, 60, 64, 0x00, 0xFF, 0x7F, 0x02, 0x01, 0x02, 0x10, 60, 0,
            0x00, 0xC1, 5, 0x00, 0xE1, 0x10, 0x40, 0x00, 0xA1, 3, 3, 0x00, 0xD1, 9,
            0x81, 0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20, 0x00, 0xF7, 0x01, 0x00,
        ]
        files.append(
            SMF.header(format: 2, tracks: 2, division: 0xE728)
                + SMF.chunk("XYZW", [0x90, 0x40]) + SMF.track(body + SMF.endOfTrack) + SMF.track(body))
        files.append(SMF.file(format: 0, division: 384, body + [0x00, 0x99, 36, 100, 0x05, 36, 0]))
        return files
    }

    @Test func damagedFilesReadOrThrowMIDIError() throws {
        let seeds = try Self.seeds()
        var random = TestRandom(seed: 2026)
        var read = 0, refused = 0
        for _ in 0..<12_000 {
            var bytes = seeds.randomElement(using: &random)!
            for _ in 0..<Int.random(in: 1...3, using: &random) {
                let at = Int.random(in: 0..<max(1, bytes.count), using: &random)
                switch Int.random(in: 0..<5, using: &random) {
                case 0:  // flip one bit
                    if !bytes.isEmpty { bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &random)) }
                case 1:  // overwrite with a random byte (often a status byte or a length)
                    if !bytes.isEmpty { bytes[at] = UInt8.random(in: 0...255, using: &random) }
                case 2:  // insert a few bytes
                    let extra = (0..<Int.random(in: 1...4, using: &random)).map { _ in
                        UInt8.random(in: 0...255, using: &random)
                    }
                    bytes.insert(contentsOf: extra, at: min(at, bytes.count))
                case 3:  // delete a few bytes
                    bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...4, using: &random)))
                default:  // truncate
                    bytes.removeSubrange(at..<bytes.count)
                }
            }
            do {
                let file = try MIDIFile(bytes: bytes)
                read += 1
                try expectRoundTrip(file)
            } catch is MIDIError {
                refused += 1
            } catch {
                Issue.record("not a MIDIError: \(error)")
            }
        }
        #expect(read + refused == 12_000)
        // Both outcomes must be common, or the mutations are too weak or too strong to test much.
        #expect(read > 1_000 && refused > 1_000, "read \(read), refused \(refused)")
    }

    /// Whatever was read writes (or is refused as unwritable) and reads back the same.
    func expectRoundTrip(_ file: MIDIFile) throws {
        let bytes: [UInt8]
        do {
            bytes = try file.encoded()
        } catch MIDIError.unwritable {
            return  // e.g. a gap above 0x0FFFFFFF ticks once the tempo map moves to track 0
        }
        var again = try MIDIFile(bytes: bytes)
        // Written as format 1; the first track also carries the tempo map, whose events may lie
        // past that track's own end.
        again.format = file.format
        if let first = again.tracks.first, let original = file.tracks.first, first.endTick > original.endTick {
            again.tracks[0].endTick = original.endTick
        }
        #expect(again == file, "\(MIDIFile.firstDifference(file, again))")
    }
}
