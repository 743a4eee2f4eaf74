import MIDI

/// The original REMI chord recogniser (YatingMusic/remi `chord_recognition.py`), as
/// docs/remi.md describes it.
///
/// At every beat it looks at windows of `windowBeats` beats (4 and 2), each cut at the end of
/// the piece; a window's chroma marks the pitch classes that sound in it at all. Every sounding
/// pitch class is tried as a root; its intervals decide the quality and a score (see
/// `ChordScoreTable`). A greedy walk from tick 0 takes the best window starting there (ties:
/// the longer) and goes on from its end. Windows with notes but no chord merge into the chord
/// before them (leading ones into the first chord); a silent window is `N:N` and stays.
public struct ChordRecognizer: Sendable {
    /// A recognised chord and the ticks it spans, `[start, end)`.
    public struct Span: Equatable, Sendable {
        /// First tick, a multiple of the beat (internal ticks).
        public var start: Int
        /// One past the last tick.
        public var end: Int
        /// The chord.
        public var label: ChordLabel
        /// Creates a span.
        public init(start: Int, end: Int, label: ChordLabel) {
            self.start = start
            self.end = end
            self.label = label
        }
    }

    /// Ticks per beat of the notes given to `recognize` (480 internally).
    public var ticksPerBeat: Int
    /// Window lengths in beats, tried at each beat; on a tie of scores the longer wins.
    public var windowBeats: [Int]

    /// Creates a recogniser (the original: 480 ticks per beat, windows of 4 and 2 beats).
    public init(ticksPerBeat: Int = 480, windowBeats: [Int] = [4, 2]) {
        self.ticksPerBeat = ticksPerBeat
        self.windowBeats = windowBeats
    }

    /// What one window holds.
    enum WindowChord: Equatable {
        /// No note sounds: `N:N`, score 0.
        case silent
        /// Notes sound but no root gives a quality (both thirds or neither): score -100.
        case unrecognised
        /// A chord with its score.
        case chord(root: Int, quality: ChordQuality)
    }

    /// The chords of `notes` (onsets already on the grid), in time order.
    ///
    /// A note sounds on ticks `[start, end)`; a zero-length note sounds on its start tick alone
    /// (the original's piano roll keeps such notes one tick long). Notes with velocity 0 are
    /// ignored, as in the original. Returns no chord at all when no window holds a chord.
    public func recognize(_ notes: [Note]) -> [Span] {
        let maxTick = notes.reduce(0) { max($0, $1.end) }
        guard maxTick > 0, ticksPerBeat > 0 else { return [] }
        let beats = (maxTick + ticksPerBeat - 1) / ticksPerBeat
        // Sounding pitches per beat, as a 128-bit set (lo: pitches 0...63, hi: 64...127).
        var lo = [UInt64](repeating: 0, count: beats)
        var hi = [UInt64](repeating: 0, count: beats)
        for note in notes where note.velocity > 0 && (0...127).contains(note.pitch) && note.start >= 0 {
            let end = min(max(note.end, note.start + 1), maxTick)
            guard note.start < end else { continue }
            let first = note.start / ticksPerBeat, last = (end - 1) / ticksPerBeat
            if note.pitch < 64 {
                let bit = UInt64(1) << UInt64(note.pitch)
                for b in first...last { lo[b] |= bit }
            } else {
                let bit = UInt64(1) << UInt64(note.pitch - 64)
                for b in first...last { hi[b] |= bit }
            }
        }

        // Greedy walk (the original's `greedy`): best window here, ties to the longer one.
        var walk: [(start: Int, end: Int, chord: WindowChord)] = []
        var start = 0
        while start < maxTick {
            let beat = start / ticksPerBeat
            var best: (end: Int, chord: WindowChord, score: Int)?
            for length in windowBeats {
                let end = min(start + length * ticksPerBeat, maxTick)
                var wlo: UInt64 = 0, whi: UInt64 = 0
                for b in beat..<min(beat + length, beats) {
                    wlo |= lo[b]
                    whi |= hi[b]
                }
                let (chord, score) = Self.chord(lo: wlo, hi: whi)
                if let current = best {
                    if score > current.score || (score == current.score && end > current.end) {
                        best = (end, chord, score)
                    }
                } else {
                    best = (end, chord, score)
                }
            }
            guard let chosen = best, chosen.end > start else { break }
            walk.append((start, chosen.end, chosen.chord))
            start = chosen.end
        }

        // Windows with no chord merge into the chord before; leading ones into the first chord.
        guard let firstRecognised = walk.firstIndex(where: { $0.chord != .unrecognised }) else { return [] }
        var spans: [Span] = []
        for (i, window) in walk.enumerated() where i >= firstRecognised {
            switch window.chord {
            case .unrecognised:
                spans[spans.count - 1].end = window.end
            case .silent:
                spans.append(Span(start: i == firstRecognised ? 0 : window.start, end: window.end, label: .noChord))
            case let .chord(root, quality):
                spans.append(
                    Span(
                        start: i == firstRecognised ? 0 : window.start, end: window.end,
                        label: .chord(root: root, quality: quality)))
            }
        }
        return spans
    }

    /// The chord of a window whose sounding pitches are the 128-bit set (lo, hi), and its score.
    static func chord(lo: UInt64, hi: UInt64) -> (WindowChord, Int) {
        if lo == 0 && hi == 0 { return (.silent, 0) }
        var chroma = 0
        var rest = lo
        while rest != 0 {
            chroma |= 1 << (rest.trailingZeroBitCount % 12)
            rest &= rest - 1
        }
        rest = hi
        while rest != 0 {
            chroma |= 1 << ((rest.trailingZeroBitCount + 64) % 12)
            rest &= rest - 1
        }
        let table = ChordScoreTable.shared
        let bestRoots = table.bestRoots[chroma]
        // Ties go to the root met first among the sounding pitches from the bass up.
        var root = -1
        rest = lo
        while rest != 0 && root < 0 {
            let pc = rest.trailingZeroBitCount % 12
            if bestRoots & (1 << pc) != 0 { root = pc }
            rest &= rest - 1
        }
        rest = hi
        while rest != 0 && root < 0 {
            let pc = (rest.trailingZeroBitCount + 64) % 12
            if bestRoots & (1 << pc) != 0 { root = pc }
            rest &= rest - 1
        }
        guard root >= 0, let quality = ChordScoreTable.quality(chroma: chroma, root: root) else {
            return (.unrecognised, ChordScoreTable.noChordScore)
        }
        return (.chord(root: root, quality: quality), Int(table.bestScore[chroma]))
    }
}

/// The original's chord scoring for every one of the 4,096 chromas, computed once.
struct ChordScoreTable: Sendable {
    /// Score of a root whose intervals give no quality (both thirds, or neither).
    static let noChordScore = -100

    /// Best score over the chroma's candidate roots.
    let bestScore: [Int16]
    /// Bit r set when root r reaches the best score.
    let bestRoots: [UInt16]

    static let shared = ChordScoreTable()

    private init() {
        var bestScore = [Int16](repeating: 0, count: 4096)
        var bestRoots = [UInt16](repeating: 0, count: 4096)
        for chroma in 1..<4096 {
            var best = Int.min, roots: UInt16 = 0
            for root in 0..<12 where chroma & (1 << root) != 0 {
                let s = Self.score(chroma: chroma, root: root)
                if s > best { best = s; roots = 0 }
                if s == best { roots |= 1 << root }
            }
            bestScore[chroma] = Int16(best)
            bestRoots[chroma] = roots
        }
        self.bestScore = bestScore
        self.bestRoots = bestRoots
    }

    /// The intervals (0...11) above `root` that sound in `chroma`, as a 12-bit set.
    static func intervals(chroma: Int, root: Int) -> Int {
        ((chroma >> root) | (chroma << (12 - root))) & 0xFFF
    }

    /// The quality `root` gives: minor third and no major third: min (dim with the tritone);
    /// major third and no minor third: maj (aug with the augmented fifth, dom with the fifth
    /// and the minor seventh); otherwise none.
    static func quality(chroma: Int, root: Int) -> ChordQuality? {
        let iv = intervals(chroma: chroma, root: root)
        func has(_ i: Int) -> Bool { iv & (1 << i) != 0 }
        switch (has(3), has(4)) {
        case (true, false): return has(6) ? .diminished : .minor
        case (false, true): return has(8) ? .augmented : (has(7) && has(10) ? .dominant : .major)
        default: return nil
        }
    }

    /// Score of `root`: over the intervals that are not chord tones, +1 for each "inside",
    /// -1 for each in the first "outside" set, -2 for each in the second (the original's maps).
    static func score(chroma: Int, root: Int) -> Int {
        guard let quality = quality(chroma: chroma, root: root) else { return noChordScore }
        let (tones, inside, outside1, outside2): ([Int], [Int], [Int], [Int])
        switch quality {
        case .major: (tones, inside, outside1, outside2) = ([0, 4], [7], [2, 5, 9], [1, 3, 6, 8, 10])
        case .minor: (tones, inside, outside1, outside2) = ([0, 3], [7], [2, 5, 8], [1, 4, 6, 9, 11])
        case .diminished: (tones, inside, outside1, outside2) = ([0, 3, 6], [9], [2, 5, 10], [1, 4, 7, 8, 11])
        case .augmented: (tones, inside, outside1, outside2) = ([0, 4, 8], [], [2, 5, 9], [1, 3, 6, 7, 10])
        case .dominant: (tones, inside, outside1, outside2) = ([0, 4, 7, 10], [], [2, 5, 9], [1, 3, 6, 8, 11])
        }
        let iv = intervals(chroma: chroma, root: root)
        var score = 0
        for i in 0..<12 where iv & (1 << i) != 0 && !tones.contains(i) {
            if outside1.contains(i) {
                score -= 1
            } else if outside2.contains(i) {
                score -= 2
            } else if inside.contains(i) {
                score += 1
            }
        }
        return score
    }
}
