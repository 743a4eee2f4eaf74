/// The quality of a recognised chord, as the original REMI chord recogniser names them.
public enum ChordQuality: String, CaseIterable, Codable, Sendable {
    /// Major triad: root, major third (0, 4).
    case major = "maj"
    /// Minor triad: root, minor third (0, 3).
    case minor = "min"
    /// Diminished: root, minor third, tritone (0, 3, 6).
    case diminished = "dim"
    /// Augmented: root, major third, augmented fifth (0, 4, 8).
    case augmented = "aug"
    /// Dominant seventh: root, major third, fifth, minor seventh (0, 4, 7, 10).
    case dominant = "dom"
}

/// A chord label as REMI writes it: `N:N` when no note sounds, otherwise a root and a quality.
/// The bass is not part of the label (`G:maj`, never `G:maj/B`).
public enum ChordLabel: Hashable, Sendable {
    /// No note sounds in the chord's span (`N:N`).
    case noChord
    /// A chord: `root` is a pitch class 0...11 (0 = C), `quality` its quality.
    case chord(root: Int, quality: ChordQuality)

    /// Pitch-class names in the original's spelling (sharps only).
    public static let pitchClassNames = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

    /// Every label, in vocabulary order: `N:N`, then roots C...B, each with the qualities in
    /// `ChordQuality.allCases` order.
    public static let all: [ChordLabel] =
        [.noChord]
        + (0..<12).flatMap { root in
            ChordQuality.allCases.map { ChordLabel.chord(root: root, quality: $0) }
        }

    /// The label as text: `N:N`, `G:maj`, `C#:dom`.
    public var name: String {
        switch self {
        case .noChord: return "N:N"
        case let .chord(root, quality): return "\(Self.pitchClassNames[root]):\(quality.rawValue)"
        }
    }

    /// Parses `N:N` or `Root:quality`; nil for anything else.
    public init?(name: String) {
        if name == "N:N" { self = .noChord; return }
        let parts = name.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let root = Self.pitchClassNames.firstIndex(of: String(parts[0])),
            let quality = ChordQuality(rawValue: String(parts[1]))
        else { return nil }
        self = .chord(root: root, quality: quality)
    }
}

/// One REMI event (see docs/remi.md), or a special token.
///
/// Values are indices, not musical units, so that an event maps to one vocabulary id:
/// what an index means (ticks, bpm, velocity) is set by the `TokenizerConfig`.
public enum REMIEvent: Hashable, Sendable {
    /// Padding for batches; carries no music. The decoder skips it.
    case padding
    /// Start of a piece (optional prompt token). The decoder skips it.
    case startOfPiece
    /// End of a piece. The decoder stops reading here.
    case endOfPiece
    /// A new bar starts.
    case bar
    /// Onset inside the bar: grid step 0..<positionsPerBar (printed 1-based, `Position 9/16`).
    case position(Int)
    /// The chord that starts at the current position.
    case chord(ChordLabel)
    /// Tempo range: an index into `TokenizerConfig.tempoClasses`.
    case tempoClass(Int)
    /// Tempo minus the start of its range, in bpm: 0..<tempoValuesPerClass.
    case tempoValue(Int)
    /// Velocity bin: 0..<velocityBins (bin = velocity * velocityBins / 128).
    case velocity(Int)
    /// MIDI pitch 0...127.
    case noteOn(Int)
    /// Duration step: step k means (k + 1) duration steps of `durationStepTicks`.
    case duration(Int)

    // Control tokens (docs/control.md), present only when `TokenizerConfig.controls` is on.
    // They carry no notes: the decoder skips them.

    /// The piece's style, restated after every `Bar`: an index into `TokenizerConfig.styles`
    /// (a composer or a collection).
    case style(Int)
    /// The piece's key, restated after every `Bar`: `MusicalKey.index` (tonic * 2, plus 1 for
    /// minor).
    case key(Int)
    /// The bar's density class (its notes), after its `Bar`: an index into
    /// `TokenizerConfig.densityNames`.
    case density(Int)
    /// Starts an infilling hint: the bars that follow the gap come next, then `fillMiddle`.
    case fillSuffix
    /// Ends the hint: the gap's bars come next, then `fillEnd`.
    case fillMiddle
    /// Ends the gap's bars: the piece goes on from the bar after the gap.
    case fillEnd

    // Parts and metres (docs/remi.md, "Instruments and meters"), present only when the config
    // reads instruments or follows metres.

    /// The part that plays the next note, before its `Note Velocity`: a General MIDI program
    /// 0...127, `TokenizerConfig.drumsInstrument`, or a track role after them.
    case instrument(Int)
    /// The metre of this bar and the bars after it, right after its `Bar`.
    case timeSignature(numerator: Int, denominator: Int)

    /// A header token's place in the one order a bar's header allows: 1 time signature,
    /// 2 style, 3 key, 4 density; 0 for every other event.
    public var headerRank: Int {
        switch self {
        case .timeSignature: return 1
        case .style: return 2
        case .key: return 3
        case .density: return 4
        default: return 0
        }
    }

    /// The highest `headerRank`.
    public static let maximumHeaderRank = 4

    /// Whether this is a control token (style, key, density, or an infilling marker): one the
    /// generator forces and never draws, so measures of the music leave it out.
    public var isControl: Bool {
        switch self {
        case .style, .key, .density, .fillSuffix, .fillMiddle, .fillEnd: return true
        default: return false
        }
    }
}
