import ArgumentParser
import Foundation
import Generation
import MIDI
import REMI

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

    @Option(parsing: .unconditional, help: "Tempo in whole beats per minute, 20...300.")
    var tempo: Int?

    @Option(
        parsing: .unconditional,
        help: """
            How firmly the notes keep to --chords (or without chords, to the scale of --key): a penalty in nats \
            on each note outside them (and a lift of up to 2 for a chord's root and third until they sound); 0 \
            leaves it to the model, inf allows chord (or scale) tones only.
            """)
    var harmonyGuidance: Float = MusicControls.defaultHarmonyGuidance

    @Option(
        parsing: .unconditional,
        help: """
            With a model of named parts (--model pop): the new bar by which every part has played; a part that \
            has not takes the next note (0: parts enter when the model likes, often after an introduction; \
            default: \(MusicControls().partsEnterBy)).
            """)
    var partsEnterBy: Int?

    /// The controls as the generator reads them.
    var music: MusicControls {
        var music = MusicControls()
        music.chords = chords
        music.style = style
        music.key = key
        music.density = density
        music.tempo = tempo
        music.harmonyGuidance = harmonyGuidance
        if let partsEnterBy { music.partsEnterBy = partsEnterBy }
        return music
    }

    func validate() throws {
        do { try music.validate() } catch { throw ValidationError("\(error)") }
    }
}
