import Foundation

/// How the built-in synthesizer voices a General MIDI family, or the drums: a few sine
/// partials, each with its level and decay, and an attack. A sketch of each family's sound
/// (plucked, struck, bowed, blown, held), not a model of any instrument; FluidSynth with a
/// General MIDI sound font gives the real sounds (docs/generation.md, "Rendering").
struct Timbre: Equatable, Sendable {
    /// One partial: its frequency (a multiple of the note's, or in Hz for a drum), its level,
    /// and its decay time constant at middle C in seconds (nil: held until the key is released).
    struct Partial: Equatable, Sendable {
        var ratio: Double
        var level: Double
        var decay: Double?
    }

    /// The partials, from the lowest.
    var partials: [Partial]
    /// Seconds from silence to full level.
    var attackSeconds: Double
    /// Whether the partials' frequencies are in Hz whatever the pitch (a drum's).
    var fixedFrequencies = false
    /// Whether the sound rings out whatever the note's length (a drum's).
    var ignoresRelease = false

    /// Held partials at `levels` of harmonics 1, 2, 3 ...
    static func held(_ levels: [Double], attack: Double) -> Timbre {
        Timbre(
            partials: levels.enumerated().map { Partial(ratio: Double($0.offset + 1), level: $0.element, decay: nil) },
            attackSeconds: attack)
    }

    /// Decaying partials at `levels` of harmonics 1, 2, 3 ..., the fundamental with time
    /// constant `decay` and each higher harmonic faster.
    static func struck(_ levels: [Double], decay: Double, attack: Double = 0.003) -> Timbre {
        Timbre(
            partials: levels.enumerated().map {
                Partial(ratio: Double($0.offset + 1), level: $0.element, decay: decay / (1 + 0.5 * Double($0.offset)))
            }, attackSeconds: attack)
    }

    /// The timbre of General MIDI program `program` (0...127) by its family (`GeneralMIDI.families`).
    /// The piano family is the synthesizer's own piano and has no entry here.
    static func family(ofProgram program: Int) -> Timbre {
        switch min(max(program, 0), 127) / 8 {
        case 1: return struck([1, 0.05, 0.02, 0.25], decay: 0.9)  // chromatic percussion: bells, mallets
        case 2: return held([1, 0.7, 0.5, 0.45, 0.2, 0.3], attack: 0.01)  // organ
        case 3, 13: return struck([1, 0.6, 0.45, 0.3, 0.2, 0.12], decay: 1.1)  // guitar, plucked ethnic
        case 4: return struck([1, 0.45, 0.2, 0.1], decay: 1.6, attack: 0.005)  // bass
        case 5, 6: return held([1, 0.5, 0.33, 0.25, 0.2, 0.16], attack: 0.08)  // strings, ensemble: bowed
        case 7: return held([1, 0.85, 0.7, 0.5, 0.35, 0.25], attack: 0.04)  // brass
        case 8: return held([1, 0.25, 0.6, 0.15, 0.35, 0.1], attack: 0.03)  // reed
        case 9: return held([1, 0.18, 0.06], attack: 0.05)  // pipe: flutes
        case 10: return held([1, 0, 0.33, 0, 0.2, 0], attack: 0.005)  // synth lead: a square wave
        case 14: return struck([1, 0.3, 0.1], decay: 0.35)  // percussive
        default: return held([1, 0.4, 0.2, 0.1], attack: 0.2)  // synth pad, effects, sound effects
        }
    }

    /// The timbre of drum key `pitch` (General MIDI percussion map): a low thump for the kicks,
    /// a bright burst for the snares and claps, pitched thumps for the toms, a high shimmer for
    /// hi-hats and cymbals, short or long as they are closed or open.
    static func drum(pitch: Int) -> Timbre {
        func fixed(_ partials: [(Double, Double)], decay: Double) -> Timbre {
            Timbre(
                partials: partials.map { Partial(ratio: $0.0, level: $0.1, decay: decay) }, attackSeconds: 0.001,
                fixedFrequencies: true, ignoresRelease: true)
        }
        switch pitch {
        case 35, 36: return fixed([(55, 1), (82, 0.5), (140, 0.2)], decay: 0.12)
        case 37, 38, 39, 40:
            return fixed([(185, 0.8), (330, 0.6), (523, 0.5), (1_170, 0.4), (2_400, 0.3)], decay: 0.09)
        case 41, 43, 45, 47, 48, 50:
            let f = 80 * pow(2, Double(pitch - 41) / 12)
            return fixed([(f, 1), (f * 1.6, 0.4)], decay: 0.2)
        case 42, 44: return fixed([(3_150, 0.5), (4_720, 0.4), (6_300, 0.35), (8_100, 0.3)], decay: 0.04)
        default: return fixed([(2_900, 0.4), (4_400, 0.35), (5_900, 0.3), (7_700, 0.25), (9_400, 0.2)], decay: 0.5)
        }
    }
}
