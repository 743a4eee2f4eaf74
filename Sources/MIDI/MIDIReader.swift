import Basics
import Foundation

// Reading Standard MIDI Files (SMF 1.0) into `MIDIFile`. The rules, and the reasons for each, are
// in docs/midi.md; in short:
// - every chunk other than MThd/MTrk is skipped; bytes after the last promised track are ignored;
// - running status survives meta and sysex events (real files rely on it, and mido does the same);
// - a note-on with velocity 0 is a note-off; overlapping notes of one pitch and channel pair
//   first-in first-out; notes still sounding at the end of their track end there; zero-length
//   notes are kept;
// - sysex, aftertouch, channel pressure and meta events the model has no place for are skipped;
// - every length is checked against the bytes that are really there before anything is
//   allocated, so a lying length field gives a `MIDIError`, never a crash or a huge allocation.

extension MIDIFile {
    /// Reads a Standard MIDI File from its bytes.
    /// - Throws: `MIDIError` naming the byte offset and the reason when the bytes are not a
    ///   well-formed file.
    public init(bytes: [UInt8]) throws {
        self = try bytes.withUnsafeBytes { try MIDIReader.read($0) }
    }

    /// Reads a Standard MIDI File from its bytes.
    public init(data: Data) throws {
        self = try data.withUnsafeBytes { try MIDIReader.read($0) }
    }

    /// Reads the Standard MIDI File at `url` (a file URL).
    /// - Throws: `MIDIError.unreadable` when the file system refuses, otherwise as `init(bytes:)`.
    public init(contentsOf url: URL) throws {
        try self.init(contentsOfFile: url.path)
    }

    /// The largest file read, in bytes: far above any real piece (a long concert performance
    /// is a few megabytes), low enough that the events of a file fit in memory.
    public static let maximumFileBytes = 64 << 20

    /// Reads the Standard MIDI File at `path`.
    /// - Throws: `MIDIError.unreadable` when the file system refuses, otherwise as `init(bytes:)`.
    public init(contentsOfFile path: String) throws {
        try self.init(bytes: try readWholeFile(path))
    }
}

/// The bytes of a MIDI file (`FileContents`: a regular file only, never waiting on a FIFO), with
/// the file system's refusals as `MIDIError.unreadable`.
func readWholeFile(_ path: String) throws -> [UInt8] {
    do {
        return try FileContents.bytes(atPath: path, maximumBytes: MIDIFile.maximumFileBytes)
    } catch FileError.cannotRead(_, let reason) {
        throw MIDIError.unreadable(path: path, reason: reason)
    }
}

/// Bounds-checked reads over raw bytes. Every read checks against `end`, so nothing here can read
/// outside the buffer whatever the file claims.
struct ByteCursor {
    let base: UnsafePointer<UInt8>
    var position: Int
    var end: Int

    /// The next byte; `what` names the thing being read, for the truncation error.
    @inline(__always)
    mutating func byte(_ what: StaticString) throws -> UInt8 {
        guard position < end else { throw MIDIError.truncated(offset: position, what: "\(what)") }
        let b = base[position]
        position += 1
        return b
    }

    /// A data byte of a channel message: must be below 0x80.
    @inline(__always)
    mutating func dataByte() throws -> Int {
        guard position < end else {
            throw MIDIError.truncated(offset: position, what: "a channel message")
        }
        let b = base[position]
        guard b < 0x80 else {
            throw MIDIError.unexpectedByte(
                offset: position, byte: b,
                reason: "a status byte inside a channel message's data")
        }
        position += 1
        return Int(b)
    }

    /// The two data bytes of a channel message, both checked to be below 0x80.
    @inline(__always)
    mutating func twoDataBytes() throws -> (Int, Int) {
        if end - position >= 2 {
            let first = base[position], second = base[position + 1]
            if (first | second) < 0x80 {
                position += 2
                return (Int(first), Int(second))
            }
        }
        return (try dataByte(), try dataByte())  // the slow path names the exact problem
    }

    /// A variable-length quantity: 7 bits per byte, high bit set on all but the last, at most 4
    /// bytes (so at most 0x0FFFFFFF).
    @inline(__always)
    mutating func variableLength(_ what: StaticString) throws -> Int {
        let start = position
        var value = 0
        for _ in 0..<4 {
            let b = try byte(what)
            value = (value << 7) | Int(b & 0x7F)
            if b < 0x80 { return value }
        }
        throw MIDIError.variableLengthTooLong(offset: start)
    }

    /// A big-endian 16-bit number at `offset` (caller checked the bounds).
    func uint16(at offset: Int) -> Int { Int(base[offset]) << 8 | Int(base[offset + 1]) }

    /// A big-endian 32-bit number at `offset` (caller checked the bounds).
    func uint32(at offset: Int) -> Int {
        Int(base[offset]) << 24 | Int(base[offset + 1]) << 16 | Int(base[offset + 2]) << 8
            | Int(base[offset + 3])
    }

    /// True when the four bytes at `offset` spell `tag` (caller checked the bounds).
    func matches(_ tag: (UInt8, UInt8, UInt8, UInt8), at offset: Int) -> Bool {
        base[offset] == tag.0 && base[offset + 1] == tag.1 && base[offset + 2] == tag.2
            && base[offset + 3] == tag.3
    }
}

/// The SMF decoder. `read` is the only entry point.
enum MIDIReader {
    static let headerTag: (UInt8, UInt8, UInt8, UInt8) = (0x4D, 0x54, 0x68, 0x64)  // "MThd"
    static let trackTag: (UInt8, UInt8, UInt8, UInt8) = (0x4D, 0x54, 0x72, 0x6B)  // "MTrk"

    /// Meta events gathered into the file-level maps, with the order they were met in so that
    /// equal ticks keep file order after sorting.
    struct FileMeta {
        var tempos: [TempoChange] = []
        var timeSignatures: [TimeSignature] = []
        var keySignatures: [KeySignature] = []
    }

    static func read(_ buffer: UnsafeRawBufferPointer) throws -> MIDIFile {
        guard let raw = buffer.baseAddress, buffer.count >= 4 else {
            throw MIDIError.notMIDI(offset: 0)
        }
        let count = buffer.count
        let cursor = ByteCursor(
            base: raw.assumingMemoryBound(to: UInt8.self), position: 0,
            end: count)
        guard cursor.matches(headerTag, at: 0) else { throw MIDIError.notMIDI(offset: 0) }
        guard count >= 8 else { throw MIDIError.truncated(offset: 4, what: "the MThd length") }
        let headerLength = cursor.uint32(at: 4)
        guard headerLength >= 6 else {
            throw MIDIError.badHeader(offset: 4, reason: "header length \(headerLength) is below 6")
        }
        guard headerLength <= count - 8 else {
            throw MIDIError.chunkPastEnd(
                offset: 0, chunk: "MThd", length: headerLength,
                available: count - 8)
        }
        let formatNumber = cursor.uint16(at: 8)
        guard let format = MIDIFile.Format(rawValue: formatNumber) else {
            throw MIDIError.badHeader(offset: 8, reason: "format \(formatNumber) is not 0, 1 or 2")
        }
        let trackCount = cursor.uint16(at: 10)
        let division = try readDivision(cursor.uint16(at: 12))

        var meta = FileMeta()
        var tracks: [Track] = []
        tracks.reserveCapacity(min(trackCount, count / 8))
        var position = 8 + headerLength
        while tracks.count < trackCount {
            guard count - position >= 8 else {
                if position == count {
                    throw MIDIError.missingTracks(
                        offset: position, expected: trackCount,
                        found: tracks.count)
                }
                throw MIDIError.truncated(offset: position, what: "a chunk header")
            }
            let length = cursor.uint32(at: position + 4)
            let body = position + 8
            guard length <= count - body else {
                throw MIDIError.chunkPastEnd(
                    offset: position,
                    chunk: chunkName(cursor, at: position),
                    length: length, available: count - body)
            }
            if cursor.matches(trackTag, at: position) {
                var trackCursor = cursor
                trackCursor.position = body
                trackCursor.end = body + length
                tracks.append(try readTrack(&trackCursor, meta: &meta))
            }
            position = body + length
        }
        return MIDIFile(
            format: format, division: division, tracks: tracks,
            tempoChanges: stableSortedByTick(meta.tempos, tick: \.tick),
            timeSignatures: stableSortedByTick(meta.timeSignatures, tick: \.tick),
            keySignatures: stableSortedByTick(meta.keySignatures, tick: \.tick))
    }

    /// Decodes the header's division word: PPQ when the top bit is clear, otherwise SMPTE as
    /// (negative frames per second, ticks per frame).
    static func readDivision(_ word: Int) throws -> MIDIFile.Division {
        if word & 0x8000 == 0 {
            guard word > 0 else {
                throw MIDIError.badHeader(offset: 12, reason: "division of 0 ticks per beat")
            }
            return .ticksPerBeat(word)
        }
        let framesPerSecond = 256 - (word >> 8)
        let ticksPerFrame = word & 0xFF
        guard [24, 25, 29, 30].contains(framesPerSecond) else {
            throw MIDIError.badHeader(
                offset: 12,
                reason:
                    "SMPTE division with \(framesPerSecond) frames per second (must be 24, 25, 29 or 30)")
        }
        guard ticksPerFrame > 0 else {
            throw MIDIError.badHeader(offset: 13, reason: "SMPTE division with 0 ticks per frame")
        }
        return .smpte(framesPerSecond: framesPerSecond, ticksPerFrame: ticksPerFrame)
    }

    /// A chunk id for an error message: the four letters when printable, else hex.
    static func chunkName(_ cursor: ByteCursor, at offset: Int) -> String {
        let bytes = (0..<4).map { cursor.base[offset + $0] }
        if bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return String(decoding: bytes, as: UTF8.self)
        }
        return bytes.map { String($0, radix: 16) }.joined(separator: " ")
    }

    /// Sorts by tick, keeping the original order among equal ticks.
    static func stableSortedByTick<T>(_ items: [T], tick: KeyPath<T, Int>) -> [T] {
        var sorted = true
        for i in items.indices.dropFirst() where items[i - 1][keyPath: tick] > items[i][keyPath: tick] {
            sorted = false
            break
        }
        if sorted { return items }
        return items.enumerated().sorted {
            ($0.element[keyPath: tick], $0.offset) < ($1.element[keyPath: tick], $1.offset)
        }.map(\.element)
    }

    /// Decodes one MTrk chunk's events (the cursor spans exactly the chunk's body).
    static func readTrack(_ c: inout ByteCursor, meta: inout FileMeta) throws -> Track {
        var track = Track()
        var tick = 0
        var runningStatus: UInt8 = 0  // 0: none in effect
        var notes: [Note] = []
        notes.reserveCapacity((c.end - c.position) / 8)  // bounded by the bytes really present
        var controls: [ControlChange] = []
        // First-in first-out queue of sounding notes for each key (channel << 7 | pitch), kept
        // as a linked list through the notes themselves: while a note sounds, its `end` holds
        // -(index of the next sounding note of its key + 2), so -1 means "last in the queue".
        // `oldestOpen[key]` and `newestOpen[key]` are indices into `notes`, -1 when none.
        let keys = 16 * 128
        let oldestOpen = UnsafeMutablePointer<Int32>.allocate(capacity: 2 * keys)
        let newestOpen = oldestOpen + keys
        oldestOpen.initialize(repeating: -1, count: 2 * keys)
        defer { oldestOpen.deallocate() }

        events: while c.position < c.end {
            tick += try c.variableLength("an event's delta time")
            let statusOffset = c.position
            var status = try c.byte("an event")
            if status < 0x80 {
                guard runningStatus != 0 else {
                    throw MIDIError.missingStatus(offset: statusOffset, byte: status)
                }
                status = runningStatus
                c.position = statusOffset  // the byte was the first data byte
            } else if status < 0xF0 {
                runningStatus = status
            }
            let channel = Int(status & 0x0F)
            switch status >> 4 {
            case 0x9, 0x8:
                let (pitch, velocity) = try c.twoDataBytes()
                let key = channel << 7 | pitch
                if status >= 0x90 && velocity > 0 {
                    let index = Int32(truncatingIfNeeded: notes.count)
                    notes.append(
                        Note(
                            start: tick, end: -1, pitch: pitch, velocity: velocity,
                            channel: channel))
                    let newest = Int(newestOpen[key])
                    if newest >= 0 {
                        notes[newest].end = -(Int(index) + 2)
                    } else {
                        oldestOpen[key] = index
                    }
                    newestOpen[key] = index
                } else {
                    let oldest = Int(oldestOpen[key])
                    if oldest >= 0 {  // a note-off with nothing sounding is ignored
                        let next = Int32(truncatingIfNeeded: -notes[oldest].end - 2)
                        notes[oldest].end = tick
                        oldestOpen[key] = next
                        if next < 0 { newestOpen[key] = -1 }
                    }
                }
            case 0xB:
                let (controller, value) = try c.twoDataBytes()
                controls.append(
                    ControlChange(
                        tick: tick, controller: controller, value: value,
                        channel: channel))
            case 0xC:
                let program = try c.dataByte()
                track.programChanges.append(
                    ProgramChange(
                        tick: tick, program: program,
                        channel: channel))
            case 0xE:
                let (low, high) = try c.twoDataBytes()
                track.pitchBends.append(
                    PitchBend(
                        tick: tick, value: (high << 7 | low) - 8192,
                        channel: channel))
            case 0xA:  // polyphonic aftertouch: not in the model
                _ = try c.twoDataBytes()
            case 0xD:  // channel pressure: not in the model
                _ = try c.dataByte()
            default:
                if status == 0xFF {
                    let type = try c.byte("a meta event's type")
                    let length = try c.variableLength("a meta event's length")
                    let dataStart = c.position
                    guard length <= c.end - dataStart else {
                        throw MIDIError.truncated(
                            offset: statusOffset,
                            what: "a meta event (its length runs past the chunk)")
                    }
                    c.position = dataStart + length
                    if type == 0x2F { break events }  // End-of-Track: anything after it is ignored
                    try readMeta(
                        type: type, data: c.base + dataStart, length: length,
                        offset: statusOffset, tick: tick, track: &track, meta: &meta)
                } else if status == 0xF0 || status == 0xF7 {
                    let length = try c.variableLength("a sysex event's length")
                    guard length <= c.end - c.position else {
                        throw MIDIError.truncated(
                            offset: statusOffset,
                            what: "a sysex event (its length runs past the chunk)")
                    }
                    c.position += length
                } else {
                    throw MIDIError.unexpectedByte(
                        offset: statusOffset, byte: status,
                        reason: "system status bytes F1...FE cannot appear in a MIDI file")
                }
            }
        }
        track.endTick = tick
        // Notes never released end with their track.
        for key in 0..<keys {
            var index = Int(oldestOpen[key])
            while index >= 0 {
                let next = -notes[index].end - 2
                notes[index].end = tick
                index = next
            }
        }
        track.controlChanges = controls
        sortByStartThenPitch(&notes)
        track.isDrum = !notes.isEmpty && notes.allSatisfy { $0.channel == 9 }
        track.notes = notes
        return track
    }

    /// Notes arrive in start order (ticks never go back), so only each run of notes with one
    /// start needs reordering by pitch, file order kept among equal pitches. Short runs (chords)
    /// take an insertion sort; long ones a counting sort over the 128 pitches, so that a hostile
    /// file with 100,000 notes on one tick still sorts in linear time.
    static func sortByStartThenPitch(_ notes: inout [Note]) {
        notes.withUnsafeMutableBufferPointer { n in
            var i = 1
            while i < n.count {
                // Most neighbours are already in order; look for the first that is not.
                if n[i].start != n[i - 1].start || n[i].pitch >= n[i - 1].pitch {
                    i += 1
                    continue
                }
                let start = n[i].start
                var low = i - 1
                while low > 0 && n[low - 1].start == start { low -= 1 }
                var high = i + 1
                while high < n.count && n[high].start == start { high += 1 }
                if high - low <= 32 {
                    insertionSortByPitch(n, low..<high)
                } else {
                    countingSortByPitch(n, low..<high)
                }
                i = high
            }
        }
    }

    static func insertionSortByPitch(_ n: UnsafeMutableBufferPointer<Note>, _ run: Range<Int>) {
        for i in run.dropFirst() {
            let note = n[i]
            var j = i
            while j > run.lowerBound && n[j - 1].pitch > note.pitch {
                n[j] = n[j - 1]
                j -= 1
            }
            if j != i { n[j] = note }
        }
    }

    static func countingSortByPitch(_ n: UnsafeMutableBufferPointer<Note>, _ run: Range<Int>) {
        var firstSlot = [Int](repeating: 0, count: 129)
        for i in run { firstSlot[n[i].pitch + 1] += 1 }
        for p in 0..<128 { firstSlot[p + 1] += firstSlot[p] }
        let copy = Array(n[run])
        for note in copy {
            n[run.lowerBound + firstSlot[note.pitch]] = note
            firstSlot[note.pitch] += 1
        }
    }

    /// Stores one meta event (other than End-of-Track) where the model keeps it.
    static func readMeta(
        type: UInt8, data: UnsafePointer<UInt8>, length: Int, offset: Int,
        tick: Int, track: inout Track, meta: inout FileMeta
    ) throws {
        switch type {
        case 0x51:
            guard length >= 3 else {
                throw MIDIError.badMetaEvent(
                    offset: offset, type: type,
                    reason: "set-tempo holds \(length) bytes, needs 3")
            }
            let microseconds = Int(data[0]) << 16 | Int(data[1]) << 8 | Int(data[2])
            guard microseconds > 0 else {
                throw MIDIError.badMetaEvent(
                    offset: offset, type: type,
                    reason: "a tempo of 0 microseconds per beat")
            }
            meta.tempos.append(TempoChange(tick: tick, microsecondsPerBeat: microseconds))
        case 0x58:
            guard length >= 2 else {
                throw MIDIError.badMetaEvent(
                    offset: offset, type: type,
                    reason: "time signature holds \(length) bytes, needs 2")
            }
            guard data[1] <= 16 else {
                throw MIDIError.badMetaEvent(
                    offset: offset, type: type,
                    reason: "time-signature denominator 2^\(data[1]) is not a note value")
            }
            meta.timeSignatures.append(
                TimeSignature(
                    tick: tick, numerator: Int(data[0]),
                    denominator: 1 << Int(data[1])))
        case 0x59:
            guard length >= 2 else {
                throw MIDIError.badMetaEvent(
                    offset: offset, type: type,
                    reason: "key signature holds \(length) bytes, needs 2")
            }
            meta.keySignatures.append(
                KeySignature(
                    tick: tick, sharps: Int(Int8(bitPattern: data[0])),
                    isMinor: data[1] != 0))
        case 0x03:
            if track.name == nil {  // later names are rare and ignored (docs/midi.md)
                track.name = decodeText(data, length)
            }
        case 0x01, 0x02, 0x04, 0x05, 0x06, 0x07:
            if let kind = TextEvent.Kind(rawValue: Int(type)) {
                track.texts.append(TextEvent(tick: tick, kind: kind, text: decodeText(data, length)))
            }
        default:
            break  // sequence number, channel prefix, port, SMPTE offset, sequencer data, unknown
        }
    }

    /// Text as UTF-8 when valid, otherwise Latin-1 (the SMF spec says ASCII; old files use
    /// Latin-1 or a code page, and Latin-1 maps every byte to a character).
    static func decodeText(_ data: UnsafePointer<UInt8>, _ length: Int) -> String {
        let bytes = UnsafeBufferPointer(start: data, count: length)
        // Validate by hand: `String(validating:as:)` needs macOS 15, the package supports 13.
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var valid = true
        decoding: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: break decoding
            case .error:
                valid = false
                break decoding
            }
        }
        if valid { return String(decoding: bytes, as: UTF8.self) }
        var scalars = String.UnicodeScalarView()
        for b in bytes { scalars.append(Unicode.Scalar(b)) }
        return String(scalars)
    }
}
