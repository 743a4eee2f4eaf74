import Foundation

/// Small MIDI files built byte by byte, so the command-line tests need no data from outside.
enum Fixture {
    /// A format-0 Standard MIDI File at 480 ticks per beat holding `notes` (pitch, start tick,
    /// length in ticks), in order of start.
    static func midi(_ notes: [(pitch: UInt8, start: Int, length: Int)], ticksPerBeat: Int = 480) -> Data {
        var events: [(tick: Int, bytes: [UInt8])] = []
        for note in notes {
            events.append((note.start, [0x90, note.pitch, 90]))
            events.append((note.start + note.length, [0x80, note.pitch, 0]))
        }
        events.sort { $0.tick < $1.tick }
        var track: [UInt8] = [], last = 0
        for event in events {
            track += variableLength(event.tick - last) + event.bytes
            last = event.tick
        }
        track += [0x00, 0xFF, 0x2F, 0x00]
        var bytes =
            Array("MThd".utf8) + bigEndian(6, 4) + bigEndian(0, 2) + bigEndian(1, 2) + bigEndian(ticksPerBeat, 2)
        bytes += Array("MTrk".utf8) + bigEndian(track.count, 4) + track
        return Data(bytes)
    }

    /// A few bars of a C major scale in quarter notes, with a chord in each bar.
    static func scale(bars: Int = 4) -> Data {
        var notes: [(UInt8, Int, Int)] = []
        let steps: [UInt8] = [60, 62, 64, 65, 67, 69, 71, 72]
        for beat in 0..<(4 * bars) {
            notes.append((steps[beat % steps.count], beat * 480, 440))
            if beat % 4 == 0 { notes += [(48, beat * 480, 1900), (52, beat * 480, 1900)] }
        }
        return midi(notes.map { (pitch: $0.0, start: $0.1, length: $0.2) })
    }

    /// A file with one tempo event and no notes at all.
    static func silence() -> Data { midi([]) }

    private static func variableLength(_ value: Int) -> [UInt8] {
        var bytes = [UInt8(value & 0x7F)], rest = value >> 7
        while rest > 0 {
            bytes.insert(UInt8(rest & 0x7F) | 0x80, at: 0)
            rest >>= 7
        }
        return bytes
    }

    private static func bigEndian(_ value: Int, _ size: Int) -> [UInt8] {
        (0..<size).reversed().map { UInt8((value >> (8 * $0)) & 0xFF) }
    }
}

extension URL {
    /// Writes `data` here (test set-up; a failure stops the test).
    func write(_ data: Data) throws { try data.write(to: self) }
}
