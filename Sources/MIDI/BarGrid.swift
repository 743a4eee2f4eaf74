/// Where bars and beats fall in a file, from its time-signature map.
///
/// A bar lasts numerator x (4 / denominator) quarter notes. Before the first time signature the
/// file is in 4/4 (the SMF default). A time signature that arrives in the middle of a bar starts
/// a new bar there, as notation programs do when they read such files. SMPTE files have no beat;
/// they get a "bar" every two seconds so that the picture still has a grid.
///
/// The grid is kept as runs of equal bars, one or two per time signature, never as one entry per
/// bar: a valid file can last billions of ticks, and its bars must not need memory or time in
/// proportion.
public struct BarGrid: Equatable, Sendable {
    /// One bar: where it starts and how its beats are laid out, in ticks.
    public struct Bar: Equatable, Sendable {
        /// First tick of the bar.
        public var start: Int
        /// Length of the bar in ticks.
        public var length: Int
        /// Length of one beat of the time signature (the denominator's note value) in ticks.
        public var beatLength: Int
        /// Beats in the bar (the numerator).
        public var beats: Int
    }

    /// Consecutive bars of one length and one beat layout.
    public struct Run: Equatable, Sendable {
        /// The run's first bar; each of the others starts `bar.length` ticks after the one before.
        public var bar: Bar
        /// Bars in the run.
        public var count: Int
        /// Index of the run's first bar in the whole grid (0 for the piece's first bar).
        public var firstIndex: Int

        /// Start tick of the run's bar `index` (an index in the whole grid).
        public func start(ofBar index: Int) -> Int { bar.start + (index - firstIndex) * bar.length }
    }

    /// The runs covering ticks 0 ... `endTick`, in order.
    public let runs: [Run]

    /// Number of bars in the grid.
    public var barCount: Int { runs.last.map { $0.firstIndex + $0.count } ?? 0 }

    /// The tick where the last bar ends.
    public var endTick: Int { runs.last.map { $0.start(ofBar: $0.firstIndex + $0.count) } ?? 0 }

    /// Every bar, in order. Meant for short pieces and tests: a long piece has millions of bars,
    /// which `runs` describes in a few entries.
    public var bars: [Bar] {
        runs.flatMap { run in
            (0..<run.count).map {
                Bar(
                    start: run.bar.start + $0 * run.bar.length, length: run.bar.length,
                    beatLength: run.bar.beatLength, beats: run.bar.beats)
            }
        }
    }

    /// The grid of `file` up to and including `endTick`.
    public init(file: MIDIFile, endTick: Int) {
        let endTick = max(0, endTick)
        var runs: [Run] = []
        func append(_ bar: Bar, count: Int) {
            runs.append(Run(bar: bar, count: count, firstIndex: runs.last.map { $0.firstIndex + $0.count } ?? 0))
        }
        guard let ppq = file.ticksPerBeat, ppq > 0 else {
            // SMPTE time: two-second "bars" of two one-second beats.
            let ticksPerSecond = max(1, file.tempoMap.tick(atSeconds: 1))
            append(
                Bar(start: 0, length: 2 * ticksPerSecond, beatLength: ticksPerSecond, beats: 2),
                count: endTick / (2 * ticksPerSecond) + 1)
            self.runs = runs
            return
        }
        var signatures = file.timeSignatures.filter { $0.numerator > 0 && $0.denominator > 0 }
        if signatures.first.map({ $0.tick > 0 }) ?? true {
            signatures.insert(TimeSignature(tick: 0, numerator: 4, denominator: 4), at: 0)
        }
        var start = 0
        var index = 0
        repeat {
            // The signature in force is the last one at or before `start`.
            while index + 1 < signatures.count && signatures[index + 1].tick <= start { index += 1 }
            let signature = signatures[index]
            let beatLength = max(1, ppq * 4 / signature.denominator)
            let length = beatLength * signature.numerator
            // Whole bars until the last tick is covered, or until the next signature, whichever
            // comes first; a next signature that falls mid-bar cuts that bar short.
            var count = (endTick - start) / length + 1
            var cut: Int?
            if index + 1 < signatures.count {
                let room = signatures[index + 1].tick - start
                if room / length < count {
                    count = room / length
                    if room % length != 0 { cut = room % length }
                }
            }
            if count > 0 {
                append(
                    Bar(start: start, length: length, beatLength: beatLength, beats: signature.numerator), count: count)
                start += count * length
            }
            if let cut, start <= endTick {
                append(Bar(start: start, length: cut, beatLength: beatLength, beats: signature.numerator), count: 1)
                start += cut
            }
        } while start <= endTick
        self.runs = runs
    }
}

extension BarGrid {
    /// The tick where bar `index` (0-based) starts; past the last bar, the grid's end.
    public func start(ofBar index: Int) -> Int {
        guard let run = runs.last(where: { $0.firstIndex <= index }) else { return 0 }
        return run.start(ofBar: min(index, run.firstIndex + run.count))
    }
}

extension MIDIFile {
    /// Bars `bars` (0-based, as the file's time signatures lay them out) of the file:
    /// `cropped(toTicks:)` from the first bar's start to the last one's end.
    public func cropped(toBars bars: Range<Int>) -> MIDIFile {
        let last = tracks.flatMap(\.notes).map(\.end).max() ?? 0
        let grid = BarGrid(file: self, endTick: last)
        return cropped(toTicks: grid.start(ofBar: bars.lowerBound)..<grid.start(ofBar: bars.upperBound))
    }

    /// Ticks `range` of the file, to look at them or measure them: the notes that start in
    /// them, cut at its end and moved so that it starts at tick 0, with the tempo, time
    /// signature, key, programs and controllers (the pedal) in force at its start and their
    /// changes inside it. Other events are left out.
    public func cropped(toTicks range: Range<Int>) -> MIDIFile {
        let (start, end) = (range.lowerBound, range.upperBound)
        func moved<T>(_ events: [T], tick: WritableKeyPath<T, Int>) -> [T] {
            let before = events.last { $0[keyPath: tick] <= start }.map { event -> T in
                var e = event
                e[keyPath: tick] = 0
                return e
            }
            let inside = events.filter { $0[keyPath: tick] > start && $0[keyPath: tick] < end }.map { event -> T in
                var e = event
                e[keyPath: tick] -= start
                return e
            }
            return (before.map { [$0] } ?? []) + inside
        }
        var out = self
        out.tracks = tracks.map { track in
            var t = Track(name: track.name, isDrum: track.isDrum, endTick: end - start)
            // The program in force at the crop's start, and the changes inside it.
            t.programChanges = moved(track.programChanges, tick: \.tick)
            // Per controller and channel, its value in force at the start (moved to 0) and its
            // changes inside, in the track's order.
            var inForce: [[Int]: Int] = [:]
            for (i, change) in track.controlChanges.enumerated() where change.tick <= start {
                inForce[[change.channel, change.controller]] = i
            }
            let kept = Set(inForce.values)
            t.controlChanges = track.controlChanges.enumerated().compactMap { i, change in
                var moved = change
                if kept.contains(i) {
                    moved.tick = 0
                } else if change.tick > start && change.tick < end {
                    moved.tick -= start
                } else {
                    return nil
                }
                return moved
            }
            t.notes = track.notes.filter { $0.start >= start && $0.start < end }.map { note in
                Note(
                    start: note.start - start, end: min(note.end, end) - start, pitch: note.pitch,
                    velocity: note.velocity, channel: note.channel)
            }
            return t
        }
        out.tempoChanges = moved(tempoChanges, tick: \.tick)
        out.timeSignatures = moved(timeSignatures, tick: \.tick)
        out.keySignatures = moved(keySignatures, tick: \.tick)
        return out
    }
}
