import Models
import REMI

/// The controls asked of new music (docs/control.md), as a user writes them: the chords, style,
/// key, density and tempo. `cadenza generate` reads them from flags and the studio from JSON;
/// both turn them into forced tokens and guidance here, so they mean the same everywhere.
public struct MusicControls: Equatable, Sendable {
    /// A chord progression, one bar per word, repeated to fill the bars ("C:maj G:maj"); two
    /// chords in a bar are joined by a comma ("C:maj,G:maj").
    public var chords: String?
    /// A style the model knows (a composer, or a collection such as pop).
    public var style: String?
    /// A key, as "A minor" or "Eb major"; a prompt is transposed to it.
    public var key: String?
    /// `sparse`, `medium` or `dense`: notes per bar against the model's thresholds.
    public var density: String?
    /// Tempo in beats per minute, within `tempoRange`.
    public var tempo: Int?
    /// The penalty in nats on each note outside the asked chords (or the key's scale);
    /// 0 leaves it to the model, infinity allows chord (or scale) tones only.
    public var harmonyGuidance: Float = MusicControls.defaultHarmonyGuidance
    /// With a model of named parts: the new bar by which every part has played (0: off).
    public var partsEnterBy: Int = 2

    /// The default `harmonyGuidance`: where the asked chord is heard in most bars and the
    /// model still writes passing notes (docs/results.md, "Chords").
    public static let defaultHarmonyGuidance: Float = 4
    /// The tempos a user may ask for, in beats per minute.
    public static let tempoRange = 20...300

    /// No controls: the model decides everything.
    public init() {}

    /// The style, key and density class asked for, read against one model's tokenizer.
    public struct Resolved: Equatable, Sendable {
        /// An index into the tokenizer's styles.
        public var style: Int?
        /// The asked key.
        public var key: MusicalKey?
        /// An index into `TokenizerConfig.densityNames`.
        public var density: Int?
    }

    /// Throws `GenerationError.invalidControl` for a value out of range or unreadable,
    /// whatever the model.
    public func validate() throws {
        if let chords { _ = try Steering.chordLabels(parsing: chords) }
        if let tempo, !Self.tempoRange.contains(tempo) {
            throw GenerationError.invalidControl(
                name: "tempo",
                reason: "must be \(Self.tempoRange.lowerBound)...\(Self.tempoRange.upperBound), got \(tempo)")
        }
        guard partsEnterBy >= 0 else {
            throw GenerationError.invalidControl(
                name: "parts-enter-by", reason: "must be 0 or more, got \(partsEnterBy)")
        }
        guard harmonyGuidance >= 0, !harmonyGuidance.isNaN else {
            throw GenerationError.invalidControl(
                name: "harmony-guidance",
                reason: "must be 0 or more (inf for chord tones only), got \(harmonyGuidance)")
        }
        if let density, !TokenizerConfig.densityNames.contains(density.lowercased()) {
            throw GenerationError.invalidControl(
                name: "density",
                reason: "must be one of \(TokenizerConfig.densityNames.joined(separator: ", ")), got '\(density)'")
        }
        if let key, MusicalKey(parsing: key) == nil {
            throw GenerationError.invalidControl(
                name: "key",
                reason: "'\(key)' is not a key: write a tonic and a mode, as in \"A minor\" or \"Eb major\"")
        }
    }

    /// The asked controls that need the control tokens, by name.
    public var controlTokenNames: [String] {
        [("style", style), ("key", key), ("density", density)].filter { $0.1 != nil }.map(\.0)
    }

    /// The style, key and density read against `tokenizer`; throws when the model has no
    /// control tokens for them or does not know the style.
    public func resolved(for tokenizer: REMITokenizer) throws -> Resolved {
        try validate()
        if let name = controlTokenNames.first, !tokenizer.hasControls {
            throw GenerationError.invalidControl(
                name: name,
                reason: "needs a model with control tokens; this one has none. Fine-tune it with "
                    + "`cadenza train --controls` (docs/control.md), or use the bundled model")
        }
        var styleIndex: Int?
        if let style {
            guard let index = tokenizer.config.styleIndex(named: style) else {
                let known = tokenizer.config.styles
                throw GenerationError.invalidControl(
                    name: "style",
                    reason: "'\(style)' is not a style this model knows"
                        + (known.isEmpty ? " (it knows none)" : "; it knows: \(known.joined(separator: ", "))"))
            }
            styleIndex = index
        }
        return Resolved(
            style: styleIndex, key: key.flatMap(MusicalKey.init(parsing:)),
            density: density.flatMap { TokenizerConfig.densityNames.firstIndex(of: $0.lowercased()) })
    }

    /// The chords, tempo, entering parts and control tokens (`resolved`) to force.
    public func steering(tokenizer: REMITokenizer, resolved: Resolved) throws -> Steering {
        let written = tokenizer.config.tempoRange
        if let tempo, !written.contains(tempo) {
            // The tempo tokens would clamp it without a word.
            throw GenerationError.invalidControl(
                name: "tempo",
                reason: "this model writes tempos of \(written.lowerBound)...\(written.upperBound) bpm, got \(tempo)")
        }
        var steering = Steering(tempoBPM: tempo)
        steering.harmonyGuidance = harmonyGuidance
        if partsEnterBy > 0 && tokenizer.config.hasInstruments {
            steering.requiredParts = tokenizer.config.trackRoles.indices.map {
                TokenizerConfig.drumsInstrument + 1 + $0
            }
            steering.partsEnterBy = partsEnterBy
        }
        steering.header = [
            resolved.style.map(REMIEvent.style), resolved.key.map { .key($0.index) },
            resolved.density.map(REMIEvent.density),
        ].compactMap { $0 }
        if let chords {
            guard tokenizer.config.chords else {
                throw GenerationError.invalidControl(
                    name: "chords", reason: "needs a model whose vocabulary has chord tokens; this one has none")
            }
            steering.chords = try Steering.chords(parsing: chords, config: tokenizer.config)
        }
        return steering
    }

    /// `prompt` moved to the asked key: by the shift of -5...+6 semitones that takes the
    /// prompt's own key (Krumhansl-Schmuckler) to the asked tonic. Unchanged without a key.
    public func transposed(_ prompt: [Int], tokenizer: REMITokenizer) -> (ids: [Int], semitones: Int) {
        guard let asked = key.flatMap(MusicalKey.init(parsing:)), let own = tokenizer.key(ofIDs: prompt) else {
            return (prompt, 0)
        }
        let shift = ((asked.tonic - own.tonic) % 12 + 12 + 5) % 12 - 5
        let moved = tokenizer.transposed(prompt.map { Int32($0) }, by: shift).map { Int($0) }
        return moved == prompt ? (prompt, 0) : (moved, shift)
    }
}
