import ArgumentParser
import Foundation
import Generation
import MIDI
import REMI
import Training

/// `--bars`: a number of new bars, or with `--infill` the bars to rewrite (`5-8`, or `5`).
struct BarSelection: ExpressibleByArgument, Equatable {
    /// The first and last bar (1-based, inclusive) of a range; for a count, 1 and the count.
    var first: Int, last: Int
    /// Whether it was written as a range (`5-8`).
    var isRange: Bool

    /// The number of bars.
    var count: Int { last - first + 1 }

    init?(argument: String) {
        let parts = argument.split(separator: "-", omittingEmptySubsequences: false)
        if let n = Int(argument) {
            // A count out of range (0, -3) is read so that `validate` names the range.
            (first, last, isRange) = (1, n, false)
        } else if parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 1, b >= a {
            (first, last, isRange) = (a, b, true)
        } else {
            return nil
        }
    }
}

/// The controls of `cadenza generate` (docs/control.md): what to rewrite, and the chords,
/// style, key, density and tempo of the new music.
struct ControlOptions: ParsableArguments {
    @Option(help: "A MIDI file whose --bars (e.g. 5-8) are rewritten; every other bar is kept exactly.")
    var infill: String?

    @Option(
        help: """
            A chord progression, one bar per word, repeated to fill the bars: "C:maj G:maj A:min F:maj". Two \
            chords in a bar: "C:maj,G:maj" (on beats 1 and 3). REMI's chord names: roots C, C# ... B; \
            maj, min, dim, aug, dom.
            """)
    var chords: String?

    @Option(help: "A style the model knows (a composer, or a collection such as pop): `cadenza info` lists them.")
    var style: String?

    @Option(help: "A key, e.g. \"A minor\", \"Eb major\", \"F#m\"; a prompt is transposed to it.")
    var key: String?

    @Option(help: "How many notes per bar: sparse, medium or dense (the model's own thresholds: `cadenza info`).")
    var density: String?

    @Option(parsing: .unconditional, help: "Tempo in beats per minute, 20...300.")
    var tempo: Int?

    @Option(
        parsing: .unconditional,
        help: """
            How firmly the notes keep to --chords (or without chords, to the scale of --key): a penalty in nats \
            on each note outside them; 0 leaves it to the model, inf allows chord (or scale) tones only.
            """)
    var harmonyGuidance: Float = ControlOptions.defaultHarmonyGuidance

    @Option(
        parsing: .unconditional,
        help: """
            With a model of named parts (--model pop): the new bar by which every part has played; a part that \
            has not takes the next note (0: parts enter when the model likes, often after an introduction).
            """)
    var partsEnterBy: Int = 2

    /// The default of `--harmony-guidance`: where the asked chord is heard in most bars and the
    /// model still writes passing notes (docs/results.md, "Chords").
    static let defaultHarmonyGuidance: Float = 4

    func validate() throws {
        if let tempo, !(20...300).contains(tempo) { throw ValidationError("--tempo must be 20...300, got \(tempo)") }
        guard partsEnterBy >= 0 else {
            throw ValidationError("--parts-enter-by must be 0 or more, got \(partsEnterBy)")
        }
        guard harmonyGuidance >= 0, !harmonyGuidance.isNaN else {
            throw ValidationError(
                "--harmony-guidance must be 0 or more (inf for chord tones only), got \(harmonyGuidance)")
        }
        if let density, !TokenizerConfig.densityNames.contains(density.lowercased()) {
            throw ValidationError(
                "--density must be one of \(TokenizerConfig.densityNames.joined(separator: ", ")), got '\(density)'")
        }
        if let key, MusicalKey(parsing: key) == nil {
            throw ValidationError(
                "--key '\(key)' is not a key: write a tonic and a mode, as in \"A minor\" or \"Eb major\"")
        }
    }

    /// Whether any control needs the control tokens.
    var needsControlTokens: Bool { infill != nil || style != nil || key != nil || density != nil }

    /// The style (an index into the model's styles), key and density class asked for.
    func values(tokenizer: REMITokenizer) throws -> (style: Int?, key: MusicalKey?, density: Int?) {
        if needsControlTokens && !tokenizer.hasControls {
            let given = [("--infill", infill), ("--style", style), ("--key", key), ("--density", density)]
                .filter { $0.1 != nil }.map(\.0).joined(separator: ", ")
            throw CommandFailure(
                "\(given) need a model with control tokens; this one has none. Fine-tune it with "
                    + "`cadenza train --controls` (docs/control.md), or use the bundled model")
        }
        var styleIndex: Int?
        if let style {
            guard let index = tokenizer.config.styleIndex(named: style) else {
                let known = tokenizer.config.styles
                throw CommandFailure(
                    "--style '\(style)' is not a style this model knows"
                        + (known.isEmpty ? " (it knows none)" : "; it knows: \(known.joined(separator: ", "))"))
            }
            styleIndex = index
        }
        return (
            styleIndex, key.flatMap(MusicalKey.init(parsing:)),
            density.flatMap { TokenizerConfig.densityNames.firstIndex(of: $0.lowercased()) }
        )
    }

    /// The chords, tempo and control tokens (`asked`, from `values`) to force.
    func steering(
        tokenizer: REMITokenizer, asked: (style: Int?, key: MusicalKey?, density: Int?)
    ) throws -> Steering {
        var steering = Steering(tempoBPM: tempo)
        steering.harmonyGuidance = harmonyGuidance
        if partsEnterBy > 0 && tokenizer.config.hasInstruments {
            steering.requiredParts = tokenizer.config.trackRoles.indices.map {
                TokenizerConfig.drumsInstrument + 1 + $0
            }
            steering.partsEnterBy = partsEnterBy
        }
        let (style, key, density) = asked
        steering.header = [style.map(REMIEvent.style), key.map { .key($0.index) }, density.map(REMIEvent.density)]
            .compactMap { $0 }
        if let chords {
            guard tokenizer.config.chords else {
                throw CommandFailure("--chords needs a model whose vocabulary has chord tokens; this one has none")
            }
            steering.chords = try Steering.chords(parsing: chords, config: tokenizer.config)
        }
        return steering
    }

    /// `prompt` moved to the asked key: by the shift of -5...+6 semitones that takes the
    /// prompt's own key (Krumhansl-Schmuckler) to the asked tonic. Unchanged without `--key`.
    func transposed(_ prompt: [Int], tokenizer: REMITokenizer) -> (ids: [Int], semitones: Int) {
        guard let asked = key.flatMap(MusicalKey.init(parsing:)), let own = tokenizer.key(ofIDs: prompt) else {
            return (prompt, 0)
        }
        let shift = ((asked.tonic - own.tonic) % 12 + 12 + 5) % 12 - 5
        guard shift != 0 else { return (prompt, 0) }
        let transposition = Augmentation(transposition: shift...shift)
        let moved = transposition.apply(
            transposition.draw(seed: 0, epoch: 0, piece: 0), to: prompt.map { Int32($0) }, tokenizer: tokenizer)
        return (moved.map { Int($0) }, shift)
    }
}
