import MIDI

/// Where bars and beats fall in a file, from its time-signature map.
///
/// A bar lasts numerator x (4 / denominator) quarter notes. Before the first time signature the
/// file is in 4/4 (the SMF default). A time signature that arrives in the middle of a bar starts
/// a new bar there, as notation programs do when they read such files. SMPTE files have no beat;
/// they get a "bar" every two seconds so that the picture still has a grid.
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

    /// The bars covering ticks 0 ... `endTick`, in order, at most `maximumBars` of them.
    public let bars: [Bar]
    /// False when the bars stop at `maximumBars` before reaching `endTick`.
    public let isComplete: Bool

    /// The most bars a grid holds, as many as a REMI piece may have (docs/limits.md): a tick
    /// value far beyond that is a corrupt file, and drawing it would ask for unbounded memory.
    public static let maximumBars = 100_000

    /// The grid of `file` up to and including `endTick`.
    public init(file: MIDIFile, endTick: Int) {
        var bars: [Bar] = []
        guard let ppq = file.ticksPerBeat, ppq > 0 else {
            // SMPTE time: two-second "bars" of two one-second beats.
            let ticksPerSecond = max(1, file.tempoMap.tick(atSeconds: 1))
            var start = 0
            repeat {
                bars.append(Bar(start: start, length: 2 * ticksPerSecond, beatLength: ticksPerSecond, beats: 2))
                start += 2 * ticksPerSecond
            } while start <= endTick && bars.count < Self.maximumBars
            self.bars = bars
            isComplete = start > endTick
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
            var length = beatLength * signature.numerator
            if index + 1 < signatures.count, signatures[index + 1].tick < start + length {
                length = signatures[index + 1].tick - start  // cut short by a mid-bar change
            }
            bars.append(Bar(start: start, length: length, beatLength: beatLength, beats: signature.numerator))
            start += length
        } while start <= endTick && bars.count < Self.maximumBars
        self.bars = bars
        isComplete = start > endTick
    }
}
