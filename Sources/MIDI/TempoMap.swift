/// Converts between ticks and seconds for one file.
///
/// For a PPQ division, time runs at the tempo in force (120 bpm, 500,000 µs per beat, until the
/// first set-tempo event); each segment between tempo changes is linear. The time at the start of
/// each segment is kept as an integer count of "microsecond-ticks" (ticks x µs per beat) held in a
/// `Double`, which is exact below 2^53 (about 580 hours at 480 PPQ), so `seconds(atTick:)` rounds
/// once and `tick(atSeconds:)` gives back every integer tick exactly.
///
/// For an SMPTE division, a tick is a fixed 1 / (frames per second x ticks per frame) seconds and
/// tempo events do not change time. 29 frames per second means NTSC drop-frame, 30000/1001 fps.
public struct TempoMap: Equatable, Sendable {
    /// One stretch of constant tempo.
    struct Segment: Equatable, Sendable {
        /// First tick of the stretch.
        var tick: Int
        /// Microseconds per beat in force.
        var microsecondsPerBeat: Int
        /// Time at `tick`, in microsecond-ticks (seconds x 1e6 x ticks per beat).
        var startMicrosecondTicks: Double
    }

    /// Empty for SMPTE time.
    let segments: [Segment]
    /// Ticks per beat (PPQ), or 0 for SMPTE time.
    let ticksPerBeat: Int
    /// Ticks per second for SMPTE time, 0 for PPQ time.
    let smpteTicksPerSecond: Double

    /// The default tempo before any set-tempo event: 120 bpm.
    public static let defaultMicrosecondsPerBeat = 500_000

    /// Builds the map for a division and its tempo changes (sorted by tick; among several at one
    /// tick the last one wins).
    public init(division: MIDIFile.Division, tempoChanges: [TempoChange]) {
        switch division {
        case .smpte(let framesPerSecond, let ticksPerFrame):
            let fps = framesPerSecond == 29 ? 30_000.0 / 1_001.0 : Double(framesPerSecond)
            segments = []
            ticksPerBeat = 0
            smpteTicksPerSecond = fps * Double(ticksPerFrame)
        case .ticksPerBeat(let ppq):
            var built = [
                Segment(
                    tick: 0, microsecondsPerBeat: Self.defaultMicrosecondsPerBeat,
                    startMicrosecondTicks: 0)
            ]
            for change in tempoChanges {
                let last = built[built.count - 1]
                let tick = max(change.tick, last.tick)
                let start =
                    last.startMicrosecondTicks
                    + Double(tick - last.tick) * Double(last.microsecondsPerBeat)
                let segment = Segment(
                    tick: tick, microsecondsPerBeat: change.microsecondsPerBeat,
                    startMicrosecondTicks: start)
                if tick == last.tick {
                    built[built.count - 1] = segment
                } else {
                    built.append(segment)
                }
            }
            segments = built
            ticksPerBeat = ppq
            smpteTicksPerSecond = 0
        }
    }

    /// Seconds from the start of the file to `tick` (ticks >= 0).
    public func seconds(atTick tick: Int) -> Double {
        if segments.isEmpty { return Double(tick) / smpteTicksPerSecond }
        let s = segments[segmentIndex { $0.tick <= tick }]
        let microsecondTicks =
            s.startMicrosecondTicks
            + Double(tick - s.tick) * Double(s.microsecondsPerBeat)
        return microsecondTicks / (1e6 * Double(ticksPerBeat))
    }

    /// The tick nearest to `seconds`; exact inverse of `seconds(atTick:)` on integer ticks.
    public func tick(atSeconds seconds: Double) -> Int {
        guard seconds.isFinite else { return 0 }
        if segments.isEmpty { return Self.roundedInt(seconds * smpteTicksPerSecond) }
        let target = seconds * 1e6 * Double(ticksPerBeat)
        let s = segments[segmentIndex { $0.startMicrosecondTicks <= target }]
        let offset = (target - s.startMicrosecondTicks) / Double(s.microsecondsPerBeat)
        return s.tick + Self.roundedInt(offset)
    }

    /// Rounds to the nearest integer, clamped so that absurd inputs cannot trap.
    private static func roundedInt(_ x: Double) -> Int {
        guard !x.isNaN else { return 0 }
        return Int(min(max(x.rounded(), -9e18), 9e18))
    }

    /// Microseconds per beat in force at `tick` (nil for SMPTE time).
    public func microsecondsPerBeat(atTick tick: Int) -> Int? {
        segments.isEmpty ? nil : segments[segmentIndex { $0.tick <= tick }].microsecondsPerBeat
    }

    /// Index of the last segment satisfying `isAtOrBefore` (monotone: true then false), or 0.
    private func segmentIndex(_ isAtOrBefore: (Segment) -> Bool) -> Int {
        var low = 0
        var high = segments.count - 1
        while low < high {
            let mid = (low + high + 1) / 2
            if isAtOrBefore(segments[mid]) { low = mid } else { high = mid - 1 }
        }
        return low
    }
}

extension MIDIFile {
    /// The file's tick <-> seconds conversion.
    public var tempoMap: TempoMap { TempoMap(division: division, tempoChanges: tempoChanges) }

    /// The last tick of any track (its End-of-Track, or last event when that is missing).
    public var endTick: Int { tracks.reduce(0) { max($0, $1.endTick) } }

    /// The file's length in seconds: the time of `endTick`.
    public var seconds: Double { tempoMap.seconds(atTick: endTick) }

    /// Ticks per beat, or nil for an SMPTE division.
    public var ticksPerBeat: Int? {
        if case .ticksPerBeat(let ppq) = division { return ppq }
        return nil
    }

    /// Number of notes over all tracks.
    public var noteCount: Int { tracks.reduce(0) { $0 + $1.notes.count } }

    /// Whether the file has notes and all of them are on drum tracks (MIDI channel 10), which
    /// a model without instruments does not read.
    public var notesAreAllDrums: Bool {
        tracks.contains { $0.isDrum && !$0.notes.isEmpty } && !tracks.contains { !$0.isDrum && !$0.notes.isEmpty }
    }
}
