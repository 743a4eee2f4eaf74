import Basics
import Foundation

// Writing `MIDIFile` as a Standard MIDI File. Design (docs/midi.md):
// - format 1 by default: the file-level tempo, time-signature and key-signature maps go into the
//   first track, so reading the result gives back the same tracks; format 0 on request merges
//   every track into one;
// - notes become note-on / note-on-with-velocity-0 pairs, which lets running status cover whole
//   passages; at one tick the order is: names, tempo/signatures, texts, programs, controllers,
//   pitch bends, note-offs of earlier notes, note-ons, then note-offs of zero-length notes, so
//   that the reader's first-in first-out pairing rebuilds exactly the notes that were written
//   (a note with a later note of its key inside it ends with that note: MIDI cannot say which
//   of two sounding notes of one key an off ends; `pairableEnds`);
// - running status is used between channel messages and restated after a meta event, which is
//   what strict readers expect.

extension MIDIWriter {
    /// The notes' ends as written. A reader pairs each note-off with the earliest sounding
    /// note-on of its key (pitch and channel), so the notes of one key come back as written only
    /// if they end in the order they start: a short note struck inside a longer one would come
    /// back with the durations exchanged. So, per key in order of onset, a note ends no later
    /// than any note of its key that starts after it (the smallest end from it on): only notes
    /// with a later note inside them end earlier, at that note's end, and files read from MIDI
    /// (which never hold such a pair) are written exactly.
    static func pairableEnds(_ track: Track) -> [Int] {
        var ends = track.notes.map(\.end)
        let byKey = Dictionary(grouping: track.notes.indices) {
            (track.isDrum ? 9 : track.notes[$0].channel) * 128 + track.notes[$0].pitch
        }
        for indices in byKey.values {
            let inOrder = indices.sorted { (track.notes[$0].start, $0) < (track.notes[$1].start, $1) }
            var latest = Int.max
            for i in inOrder.reversed() {
                latest = min(latest, ends[i])
                ends[i] = latest
            }
        }
        return ends
    }
}

extension MIDIFile {
    /// What `encoded(as:)` may write.
    public enum WriteFormat: Int, Sendable {
        /// Format 0: everything merged into one track.
        case singleTrack = 0
        /// Format 1: one track chunk per `Track`, tempo and signatures in the first.
        case multiTrack = 1
        /// Format 2: laid out as format 1, but the header says 2.
        case multiSequence = 2
    }

    /// The file as Standard MIDI File bytes (format 1 unless asked otherwise).
    /// - Throws: `MIDIError.unwritable` when a value does not fit the format (a pitch above
    ///   127, a negative tick, a delta time above 0x0FFFFFFF ticks, ...).
    public func encoded(as format: WriteFormat = .multiTrack) throws -> [UInt8] {
        try MIDIWriter(file: self, format: format).encode()
    }

    /// Writes the file to `url` as a Standard MIDI File (format 1 unless asked otherwise), whole
    /// or not at all (`AtomicFile`); throws `FileError` when it cannot be written.
    public func write(to url: URL, as format: WriteFormat = .multiTrack) throws {
        try AtomicFile.write(try encoded(as: format), to: url)
    }

    /// The same music at another PPQ: every tick is scaled and rounded to the nearest tick.
    /// SMPTE files are returned unchanged.
    public func rescaled(toTicksPerBeat newPPQ: Int) -> MIDIFile {
        guard case .ticksPerBeat(let oldPPQ) = division, newPPQ > 0, newPPQ != oldPPQ else {
            return self
        }
        func scale(_ tick: Int) -> Int { (tick * newPPQ + oldPPQ / 2) / oldPPQ }
        var out = self
        out.division = .ticksPerBeat(newPPQ)
        for i in out.tempoChanges.indices { out.tempoChanges[i].tick = scale(out.tempoChanges[i].tick) }
        for i in out.timeSignatures.indices { out.timeSignatures[i].tick = scale(out.timeSignatures[i].tick) }
        for i in out.keySignatures.indices { out.keySignatures[i].tick = scale(out.keySignatures[i].tick) }
        for t in out.tracks.indices {
            out.tracks[t].endTick = scale(out.tracks[t].endTick)
            for i in out.tracks[t].notes.indices {
                out.tracks[t].notes[i].start = scale(out.tracks[t].notes[i].start)
                out.tracks[t].notes[i].end = scale(out.tracks[t].notes[i].end)
            }
            for i in out.tracks[t].controlChanges.indices {
                out.tracks[t].controlChanges[i].tick = scale(out.tracks[t].controlChanges[i].tick)
            }
            for i in out.tracks[t].programChanges.indices {
                out.tracks[t].programChanges[i].tick = scale(out.tracks[t].programChanges[i].tick)
            }
            for i in out.tracks[t].pitchBends.indices {
                out.tracks[t].pitchBends[i].tick = scale(out.tracks[t].pitchBends[i].tick)
            }
            for i in out.tracks[t].texts.indices {
                out.tracks[t].texts[i].tick = scale(out.tracks[t].texts[i].tick)
            }
        }
        return out
    }
}

/// Turns a `MIDIFile` into bytes. One instance writes one file.
struct MIDIWriter {
    let file: MIDIFile
    let format: MIDIFile.WriteFormat

    /// One event waiting to be written; sorted by (tick, phase, sequence).
    struct Event {
        var tick: Int
        var phase: Int
        var sequence: Int
        /// Channel status (80...EF) or FF for a meta event.
        var status: UInt8
        /// First and second data byte; for a meta event, the meta type and unused.
        var data1: UInt8
        var data2: UInt8
        /// For a meta event: index into `payloads`.
        var payload: Int
    }

    /// Order at one tick (see the top of this file).
    enum Phase {
        static let name = 0, signature = 1, text = 2, program = 3, control = 4, bend = 5,
            noteOff = 6, noteOn = 7, zeroLengthNoteOff = 8
    }

    func encode() throws -> [UInt8] {
        var out: [UInt8] = []
        out.append(contentsOf: Array("MThd".utf8))
        appendUInt32(6, to: &out)
        let hasMaps =
            !(file.tempoChanges.isEmpty && file.timeSignatures.isEmpty
            && file.keySignatures.isEmpty)
        var trackGroups: [[Track]]
        if format == .singleTrack {
            trackGroups = [file.tracks]  // format 0 holds exactly one track chunk
        } else {
            trackGroups = file.tracks.map { [$0] }
            if trackGroups.isEmpty && hasMaps { trackGroups = [[]] }  // somewhere for the tempo map
        }
        guard trackGroups.count <= 0xFFFF else {
            throw MIDIError.unwritable(reason: "\(trackGroups.count) tracks (at most 65,535)")
        }
        appendUInt16(format.rawValue, to: &out)
        appendUInt16(trackGroups.count, to: &out)
        appendUInt16(try divisionWord(), to: &out)
        for (index, group) in trackGroups.enumerated() {
            try writeTrack(merging: group, withFileMaps: index == 0, to: &out)
        }
        return out
    }

    func divisionWord() throws -> Int {
        switch file.division {
        case .ticksPerBeat(let ppq):
            guard (1...0x7FFF).contains(ppq) else {
                throw MIDIError.unwritable(reason: "\(ppq) ticks per beat (must be 1...32767)")
            }
            return ppq
        case .smpte(let fps, let ticksPerFrame):
            guard [24, 25, 29, 30].contains(fps), (1...255).contains(ticksPerFrame) else {
                throw MIDIError.unwritable(
                    reason:
                        "SMPTE \(fps) fps x \(ticksPerFrame) ticks per frame (fps 24/25/29/30, ticks 1...255)")
            }
            return (256 - fps) << 8 | ticksPerFrame
        }
    }

    /// Writes one MTrk chunk holding the events of `tracks` (one track, or all for format 0).
    func writeTrack(merging tracks: [Track], withFileMaps: Bool, to out: inout [UInt8]) throws {
        var events: [Event] = []
        var payloads: [[UInt8]] = []
        var sequence = 0
        func add(
            _ tick: Int, _ phase: Int, _ status: UInt8, _ d1: Int, _ d2: Int = 0,
            payload: [UInt8]? = nil
        ) throws {
            guard tick >= 0 else { throw MIDIError.unwritable(reason: "negative tick \(tick)") }
            var index = -1
            if let payload {
                guard payload.count <= 0x0FFF_FFFF else {
                    throw MIDIError.unwritable(reason: "a meta event of \(payload.count) bytes")
                }
                index = payloads.count
                payloads.append(payload)
            }
            events.append(
                Event(
                    tick: tick, phase: phase, sequence: sequence, status: status,
                    data1: UInt8(truncatingIfNeeded: d1), data2: UInt8(truncatingIfNeeded: d2),
                    payload: index))
            sequence += 1
        }
        func check(_ value: Int, _ range: ClosedRange<Int>, _ what: String) throws {
            guard range.contains(value) else {
                throw MIDIError.unwritable(reason: "\(what) \(value) outside \(range)")
            }
        }
        if withFileMaps {
            for t in file.tempoChanges {
                try check(t.microsecondsPerBeat, 1...0xFF_FFFF, "tempo (µs per beat)")
                let us = t.microsecondsPerBeat
                try add(
                    t.tick, Phase.signature, 0xFF, 0x51,
                    payload: [UInt8(us >> 16), UInt8((us >> 8) & 0xFF), UInt8(us & 0xFF)])
            }
            for s in file.timeSignatures {
                try check(s.numerator, 0...255, "time-signature numerator")
                let power = s.denominator > 0 ? s.denominator.trailingZeroBitCount : -1
                guard s.denominator > 0, s.denominator == 1 << power, power <= 16 else {
                    throw MIDIError.unwritable(
                        reason: "time-signature denominator \(s.denominator) "
                            + "is not a power of two up to 2^16")
                }
                // 24 MIDI clocks per metronome click, 8 thirty-seconds per quarter: the usual values.
                try add(
                    s.tick, Phase.signature, 0xFF, 0x58,
                    payload: [UInt8(s.numerator), UInt8(power), 24, 8])
            }
            for k in file.keySignatures {
                try check(k.sharps, -128...127, "key-signature sharps")
                try add(
                    k.tick, Phase.signature, 0xFF, 0x59,
                    payload: [UInt8(bitPattern: Int8(k.sharps)), k.isMinor ? 1 : 0])
            }
        }
        // Format 0 merges tracks: the first name stands for the whole file.
        if let name = tracks.lazy.compactMap(\.name).first {
            try add(0, Phase.name, 0xFF, 0x03, payload: Array(name.utf8))
        }
        var endTick = 0
        for track in tracks {
            endTick = max(endTick, track.endTick)
            func channel(_ c: Int) throws -> UInt8 {
                try check(c, 0...15, "channel")
                return UInt8(c)
            }
            for text in track.texts {
                try add(
                    text.tick, Phase.text, 0xFF, text.kind.rawValue,
                    payload: Array(text.text.utf8))
            }
            for p in track.programChanges {
                try check(p.program, 0...127, "program")
                try add(p.tick, Phase.program, 0xC0 | (try channel(p.channel)), p.program)
            }
            for c in track.controlChanges {
                try check(c.controller, 0...127, "controller number")
                try check(c.value, 0...127, "controller value")
                try add(c.tick, Phase.control, 0xB0 | (try channel(c.channel)), c.controller, c.value)
            }
            for b in track.pitchBends {
                try check(b.value, -8192...8191, "pitch bend")
                let raw = b.value + 8192
                try add(b.tick, Phase.bend, 0xE0 | (try channel(b.channel)), raw & 0x7F, raw >> 7)
            }
            let ends = Self.pairableEnds(track)
            for (n, end) in zip(track.notes, ends) {
                try check(n.pitch, 0...127, "pitch")
                try check(n.velocity, 1...127, "velocity")
                guard n.end >= n.start else {
                    throw MIDIError.unwritable(reason: "note ends (\(n.end)) before it starts (\(n.start))")
                }
                let status = 0x90 | (track.isDrum ? 9 : try channel(n.channel))
                try add(n.start, Phase.noteOn, status, n.pitch, n.velocity)
                try add(end, end == n.start ? Phase.zeroLengthNoteOff : Phase.noteOff, status, n.pitch, 0)
            }
        }
        events.sort { ($0.tick, $0.phase, $0.sequence) < ($1.tick, $1.phase, $1.sequence) }
        endTick = max(endTick, events.last?.tick ?? 0)

        let lengthAt = out.count + 4
        out.append(contentsOf: Array("MTrk".utf8))
        appendUInt32(0, to: &out)  // patched below
        let bodyStart = out.count
        var tick = 0
        var runningStatus: UInt8 = 0
        for e in events {
            try appendDelta(e.tick - tick, to: &out)
            tick = e.tick
            if e.status == 0xFF {
                let payload = payloads[e.payload]
                out.append(0xFF)
                out.append(e.data1)
                appendVariableLength(payload.count, to: &out)
                out.append(contentsOf: payload)
                runningStatus = 0
            } else {
                if e.status != runningStatus { out.append(e.status) }
                runningStatus = e.status
                out.append(e.data1)
                if e.status & 0xF0 != 0xC0 && e.status & 0xF0 != 0xD0 { out.append(e.data2) }
            }
        }
        try appendDelta(endTick - tick, to: &out)
        out.append(contentsOf: [0xFF, 0x2F, 0x00])
        let length = out.count - bodyStart
        guard length <= 0xFFFF_FFFF else {
            throw MIDIError.unwritable(reason: "a track of \(length) bytes (at most 4 GiB)")
        }
        out[lengthAt] = UInt8(length >> 24)
        out[lengthAt + 1] = UInt8((length >> 16) & 0xFF)
        out[lengthAt + 2] = UInt8((length >> 8) & 0xFF)
        out[lengthAt + 3] = UInt8(length & 0xFF)
    }

    func appendDelta(_ delta: Int, to out: inout [UInt8]) throws {
        guard delta <= 0x0FFF_FFFF else {
            throw MIDIError.unwritable(reason: "a gap of \(delta) ticks between events (at most 0x0FFFFFFF)")
        }
        appendVariableLength(delta, to: &out)
    }

    /// 7 bits per byte, most significant first, high bit set on all but the last.
    func appendVariableLength(_ value: Int, to out: inout [UInt8]) {
        var shift = 21
        while shift > 0 && value >> shift == 0 { shift -= 7 }
        while shift > 0 {
            out.append(UInt8(0x80 | ((value >> shift) & 0x7F)))
            shift -= 7
        }
        out.append(UInt8(value & 0x7F))
    }

    func appendUInt16(_ value: Int, to out: inout [UInt8]) {
        out.append(UInt8((value >> 8) & 0xFF))
        out.append(UInt8(value & 0xFF))
    }

    func appendUInt32(_ value: Int, to out: inout [UInt8]) {
        out.append(UInt8((value >> 24) & 0xFF))
        out.append(UInt8((value >> 16) & 0xFF))
        out.append(UInt8((value >> 8) & 0xFF))
        out.append(UInt8(value & 0xFF))
    }
}
