import MIDI
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Computes `PieceMetrics` for a MIDI file.
///
/// The MusPy metrics follow MusPy 0.5.0 exactly, quirks included, so that values agree with
/// MusPy's own (checked against the reference values, docs/metrics.md): times are the
/// file's own ticks and `resolution` its ticks per beat; drum notes (MIDI channel 10) are left
/// out of the pitch metrics but counted by the rhythm metrics; the song length is the last note
/// end or controller event of any track. docs/metrics.md explains each choice.
public enum MusicalMetrics {
    /// Every metric of `file`. Beat-based metrics are NaN for SMPTE-timed files (no beats).
    public static func measure(_ file: MIDIFile, path: String = "") -> PieceMetrics {
        let all = file.tracks.flatMap(\.notes).sorted { ($0.start, $0.pitch) < ($1.start, $1.pitch) }
        let pitched = all.filter { $0.channel != 9 }
        let controllerEnd = file.tracks.flatMap(\.controlChanges).map(\.tick).max() ?? 0
        let length = max(all.map(\.end).max() ?? 0, controllerEnd)
        let resolution = file.ticksPerBeat.flatMap { $0 > 0 ? $0 : nil }
        let map = file.tempoMap

        var v: [Metric: Double] = [:]
        v[.pitchRange] = Double(pitchRange(pitched))
        v[.pitchesUsed] = Double(Set(pitched.map(\.pitch)).count)
        v[.pitchClassesUsed] = Double(Set(pitched.map { $0.pitch % 12 }).count)
        v[.pitchEntropy] = entropy(counts: histogram(pitched.map(\.pitch), bins: 128))
        v[.pitchClassEntropy] = entropy(counts: histogram(pitched.map { $0.pitch % 12 }, bins: 12))
        v[.scaleConsistency] = scaleConsistency(pitched)
        let poly = polyphony(pitched, length: length)
        v[.polyphony] = poly.polyphony
        v[.polyphonyRate] = poly.rate
        v[.emptyBeatRate] = resolution.map { emptyBeatRate(all, length: length, resolution: $0) } ?? .nan
        v[.grooveConsistency] =
            resolution.map { grooveConsistency(all, length: length, measureResolution: 4 * $0) } ?? .nan

        v[.noteCount] = Double(pitched.count)
        let lastEnd = pitched.map(\.end).max() ?? 0
        let seconds = map.seconds(atTick: lastEnd)
        v[.notesPerSecond] = seconds > 0 ? Double(pitched.count) / seconds : .nan
        v[.notesPerBeat] =
            resolution.map { lastEnd > 0 ? Double(pitched.count) * Double($0) / Double(lastEnd) : .nan } ?? .nan
        let onsets = Array(Set(pitched.map(\.start))).sorted().map { map.seconds(atTick: $0) }
        let intervals = zip(onsets.dropFirst(), onsets).map { $0 - $1 }
        (v[.interOnsetMean], v[.interOnsetStd]) = meanAndStd(intervals)
        let velocities = pitched.map { Double($0.velocity) }
        (v[.velocityMean], v[.velocityStd]) = meanAndStd(velocities)
        v[.velocityMin] = velocities.min() ?? .nan
        v[.velocityMax] = velocities.max() ?? .nan

        let grid = resolution.map { BeatGrid(pitched, resolution: $0) }
        v[.onBeatRate] = grid?.onBeatRate ?? .nan
        v[.downbeatRate] = grid?.downbeatRate ?? .nan
        v[.downbeatSalience] = grid?.downbeatSalience ?? .nan
        v[.gridDeviation] = grid?.meanDeviation ?? .nan

        let similarity = resolution.map { pitchClassSimilarity(pitched, barTicks: 4 * $0) } ?? [:]
        for (bars, metric) in Metric.similarityDistances { v[metric] = similarity[bars] ?? .nan }

        let classCounts = histogram(pitched.map { $0.pitch % 12 }, bins: 12)
        return PieceMetrics(
            path: path, values: v,
            pitchClassHistogram: normalised(classCounts),
            positionHistogram: grid?.positionShares ?? [Double](repeating: 0, count: 16))
    }

    /// For each distance d of `Metric.similarityDistances`: the mean cosine similarity of the
    /// pitch-class histograms (note onsets per class) of bars i and i + d, over every pair of
    /// bars of `barTicks` that both hold notes (NaN without such a pair). Real music repeats:
    /// a phrase comes back 4 or 8 bars later, and its bars look alike.
    static func pitchClassSimilarity(_ notes: [Note], barTicks: Int) -> [Int: Double] {
        guard barTicks > 0, let last = notes.map(\.start).max() else { return [:] }
        var bars = [[Double]](repeating: [Double](repeating: 0, count: 12), count: last / barTicks + 1)
        for note in notes where note.start >= 0 { bars[note.start / barTicks][note.pitch % 12] += 1 }
        let norms = bars.map { $0.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        var result: [Int: Double] = [:]
        for (d, _) in Metric.similarityDistances {
            var sum = 0.0, pairs = 0
            for i in bars.indices where i + d < bars.count && norms[i] > 0 && norms[i + d] > 0 {
                sum += zip(bars[i], bars[i + d]).reduce(0) { $0 + $1.0 * $1.1 } / (norms[i] * norms[i + d])
                pairs += 1
            }
            result[d] = pairs > 0 ? sum / Double(pairs) : .nan
        }
        return result
    }

    // MARK: Pitch metrics (MusPy)

    /// Highest minus lowest pitch, in semitones; 0 without notes.
    static func pitchRange(_ notes: [Note]) -> Int {
        guard let low = notes.map(\.pitch).min(), let high = notes.map(\.pitch).max() else { return 0 }
        return high - low
    }

    /// Counts of `values` in 0..<bins (values outside are ignored).
    static func histogram(_ values: [Int], bins: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: bins)
        for x in values where x >= 0 && x < bins { counts[x] += 1 }
        return counts
    }

    /// `counts` divided by their sum (all zero when the sum is zero).
    static func normalised(_ counts: [Int]) -> [Double] {
        let total = counts.reduce(0, +)
        return counts.map { total > 0 ? Double($0) / Double(total) : 0 }
    }

    /// Shannon entropy of the normalised histogram, in bits; NaN for an empty histogram.
    static func entropy(counts: [Int]) -> Double {
        let total = Double(counts.reduce(0, +))
        guard total > 0 else { return .nan }
        return -counts.filter { $0 > 0 }.reduce(0.0) { sum, c in
            let p = Double(c) / total
            return sum + p * log2(p)
        }
    }

    /// The major scale from its root (C D E F G A B); the natural minor is the same shifted.
    private static let majorScale: Set<Int> = [0, 2, 4, 5, 7, 9, 11]
    private static let minorScale: Set<Int> = [0, 2, 3, 5, 7, 8, 10]

    /// The largest share of notes inside one of the 24 major and natural-minor scales; NaN
    /// without notes (MusPy's `scale_consistency`, after Mogren 2016).
    static func scaleConsistency(_ notes: [Note]) -> Double {
        guard !notes.isEmpty else { return .nan }
        let counts = histogram(notes.map { $0.pitch % 12 }, bins: 12)
        var best = 0
        for scale in [majorScale, minorScale] {
            for root in 0..<12 {
                best = max(
                    best,
                    (0..<12).reduce(0) { sum, pc in scale.contains((pc - root + 12) % 12) ? sum + counts[pc] : sum })
            }
        }
        return Double(best) / Double(notes.count)
    }

    /// MusPy's polyphony and polyphony rate over the binary piano roll of `notes` (one column
    /// per tick, a pitch is on over [start, end) in any track):
    /// - polyphony: mean number of pitches on, over the ticks where at least one is on;
    /// - rate: share of all `length` ticks where MORE THAN TWO pitches are on. MusPy documents
    ///   "multiple pitches" but its code compares `> threshold` with threshold 2; we follow the
    ///   code, which produced the reference values.
    /// Computed by sweeping note boundaries instead of building the roll (same numbers).
    static func polyphony(_ notes: [Note], length: Int, threshold: Int = 2) -> (polyphony: Double, rate: Double) {
        // Per pitch, the union of its sounding intervals: the roll is binary per pitch.
        var events: [(tick: Int, delta: Int)] = []
        for (_, group) in Dictionary(grouping: notes.filter { $0.end > $0.start && $0.start < length }, by: \.pitch) {
            var merged: [Range<Int>] = []
            for note in group.sorted(by: { $0.start < $1.start }) {
                let span = max(0, note.start)..<min(note.end, length)
                if let last = merged.last, span.lowerBound <= last.upperBound {
                    merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, span.upperBound)
                } else {
                    merged.append(span)
                }
            }
            for span in merged { events.append((span.lowerBound, 1)); events.append((span.upperBound, -1)) }
        }
        events.sort { $0.tick < $1.tick }
        var active = 0, previous = 0
        var pitchTicks = 0, soundingTicks = 0, denseTicks = 0
        for event in events {
            let span = event.tick - previous
            if active > 0 { pitchTicks += active * span; soundingTicks += span }
            if active > threshold { denseTicks += span }
            active += event.delta
            previous = event.tick
        }
        let polyphony = soundingTicks > 0 ? Double(pitchTicks) / Double(soundingTicks) : .nan
        let rate = length > 0 ? Double(denseTicks) / Double(length) : .nan
        return (polyphony, rate)
    }

    // MARK: Rhythm metrics (MusPy)

    /// Share of beats in which no note sounds (MusPy's `empty_beat_rate`): the song has
    /// length / resolution + 1 beats, and a note fills every beat from the one holding its start
    /// to the one holding its end, both included. All notes count, drums too. NaN for length 0.
    static func emptyBeatRate(_ notes: [Note], length: Int, resolution: Int) -> Double {
        guard length >= 1 else { return .nan }
        let beats = length / resolution + 1
        var filled = [Bool](repeating: false, count: beats)
        for note in notes {
            let first = max(0, note.start / resolution), last = min(beats - 1, note.end / resolution)
            if first <= last { for b in first...last { filled[b] = true } }
        }
        return 1 - Double(filled.filter { $0 }.count) / Double(beats)
    }

    /// MusPy's `groove_consistency` (Wu & Yang 2020): one minus the mean Hamming distance between
    /// the onset patterns of neighbouring measures, each pattern one bit per tick of a measure of
    /// `measureResolution` ticks, over length / measureResolution + 1 measures. All notes count,
    /// drums too. NaN with fewer than two measures.
    static func grooveConsistency(_ notes: [Note], length: Int, measureResolution: Int) -> Double {
        let measures = length / measureResolution + 1
        guard measures >= 2, measureResolution >= 1 else { return .nan }
        var patterns = [Set<Int>](repeating: [], count: measures)
        for note in notes where note.start >= 0 {
            let (measure, position) = note.start.quotientAndRemainder(dividingBy: measureResolution)
            if measure < measures { patterns[measure].insert(position) }
        }
        var distance = 0
        for i in 0..<(measures - 1) {
            distance += patterns[i].symmetricDifference(patterns[i + 1]).count
        }
        return 1 - Double(distance) / Double(measureResolution * (measures - 1))
    }

    // MARK: Helpers

    /// Mean and population standard deviation; NaN for an empty list (std NaN below 2 values).
    static func meanAndStd(_ xs: [Double]) -> (Double, Double) {
        guard !xs.isEmpty else { return (.nan, .nan) }
        let mean = xs.reduce(0, +) / Double(xs.count)
        guard xs.count >= 2 else { return (mean, .nan) }
        let variance = xs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(xs.count)
        return (mean, variance.squareRoot())
    }
}
