/// The musical metrics Cadenza computes for one piece, each with where its definition comes
/// from. Names of the MusPy metrics are MusPy's own function names (MusPy 0.5.0,
/// `muspy/metrics/metrics.py`; Dong et al., "MusPy: A Toolkit for Symbolic Music Generation",
/// ISMIR 2020). docs/metrics.md gives every definition in full.
public enum Metric: String, CaseIterable, Codable, Sendable {
    // Pitch (MusPy).
    case pitchRange = "pitch_range"
    case pitchesUsed = "n_pitches_used"
    case pitchClassesUsed = "n_pitch_classes_used"
    case pitchEntropy = "pitch_entropy"
    case pitchClassEntropy = "pitch_class_entropy"
    case scaleConsistency = "scale_consistency"
    case polyphony = "polyphony"
    case polyphonyRate = "polyphony_rate"
    // Rhythm (MusPy).
    case emptyBeatRate = "empty_beat_rate"
    case grooveConsistency = "groove_consistency"
    // Density, timing and dynamics (Cadenza).
    case noteCount = "note_count"
    case notesPerSecond = "notes_per_second"
    case notesPerBeat = "notes_per_beat"
    case interOnsetMean = "ioi_mean"
    case interOnsetStd = "ioi_std"
    case velocityMean = "velocity_mean"
    case velocityStd = "velocity_std"
    case velocityMin = "velocity_min"
    case velocityMax = "velocity_max"
    // Beat and downbeat on the REMI grid (Cadenza, after Huang & Yang 2020).
    case onBeatRate = "on_beat_rate"
    case downbeatRate = "downbeat_rate"
    case downbeatSalience = "downbeat_salience"
    case gridDeviation = "grid_deviation"
    // Long-range repetition (Cadenza, issue 21): how alike the pitch classes of two bars
    // d bars apart are, for d = 1, 2, 4, 8, 16.
    case pitchClassSimilarity1 = "pc_similarity_1"
    case pitchClassSimilarity2 = "pc_similarity_2"
    case pitchClassSimilarity4 = "pc_similarity_4"
    case pitchClassSimilarity8 = "pc_similarity_8"
    case pitchClassSimilarity16 = "pc_similarity_16"

    /// The bar distances of the self-similarity metrics, with their metric.
    public static let similarityDistances: [(bars: Int, metric: Metric)] = [
        (1, .pitchClassSimilarity1), (2, .pitchClassSimilarity2), (4, .pitchClassSimilarity4),
        (8, .pitchClassSimilarity8), (16, .pitchClassSimilarity16),
    ]

    /// Where the definition comes from.
    public var source: String {
        switch self {
        case .pitchRange, .pitchesUsed, .pitchClassesUsed, .pitchEntropy, .pitchClassEntropy,
            .scaleConsistency, .polyphony, .polyphonyRate, .emptyBeatRate, .grooveConsistency:
            return "MusPy"
        case .onBeatRate, .downbeatRate, .downbeatSalience, .gridDeviation:
            return "REMI grid"
        default:
            return "Cadenza"
        }
    }

    /// The unit of the value.
    public var unit: String {
        switch self {
        case .pitchRange: return "semitones"
        case .pitchesUsed, .pitchClassesUsed, .noteCount: return "count"
        case .pitchEntropy, .pitchClassEntropy: return "bits"
        case .polyphony: return "pitches"
        case .notesPerSecond: return "notes/s"
        case .notesPerBeat: return "notes/beat"
        case .interOnsetMean, .interOnsetStd: return "s"
        case .velocityMean, .velocityStd, .velocityMin, .velocityMax: return "MIDI velocity"
        case .gridDeviation: return "sixteenths"
        case .downbeatSalience: return "ratio"
        case .pitchClassSimilarity1, .pitchClassSimilarity2, .pitchClassSimilarity4, .pitchClassSimilarity8,
            .pitchClassSimilarity16:
            return "cosine"
        default: return "fraction"
        }
    }
}

/// Every metric of one piece.
public struct PieceMetrics: Sendable, Equatable {
    /// Where the piece came from (as given on the command line).
    public var path: String
    /// Scalar metrics; NaN where the metric is undefined for this piece (no notes, no beats).
    public var values: [Metric: Double]
    /// Share of (non-drum) notes in each pitch class, C first; all zero without notes.
    public var pitchClassHistogram: [Double]
    /// Share of (non-drum) note onsets at each of the 16 positions of a 4/4 bar on the REMI grid.
    public var positionHistogram: [Double]

    /// The value of `metric` (NaN when undefined).
    public subscript(_ metric: Metric) -> Double { values[metric] ?? .nan }
}
