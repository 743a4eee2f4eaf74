import Corpus
import REMI
import Tensor

/// Seeded data augmentation for the training split (never validation or test), applied to a
/// piece's REMI ids so that the token cache holds each file once:
/// - transposition by k semitones drawn from `transposition`: every `Note On` moves by k and
///   every chord root by k (mod 12), except the drums' (a drum pitch names a drum, not a note);
///   if any note would leave 0...127 the piece is kept untransposed instead;
/// - velocity shift by s bins drawn from `velocityShift`, clamped to the bins;
/// - tempo scaling by a factor drawn uniformly from `tempoScale`: each Tempo Class/Value pair
///   becomes the pair of the scaled bpm (clamped to the classes' range).
/// Positions, bars and durations are untouched, so a piece keeps its length in tokens and a
/// training stream keeps its layout. The draw for a piece depends only on (seed, epoch, piece).
public struct Augmentation: Codable, Equatable, Sendable {
    /// Semitones, inclusive (e.g. -5...6); 0...0 for none.
    public var transposition: ClosedRange<Int>
    /// Velocity bins, inclusive; 0...0 for none.
    public var velocityShift: ClosedRange<Int>
    /// Tempo factor range, e.g. 0.9...1.1; 1...1 for none.
    public var tempoScale: ClosedRange<Double>

    /// Creates an augmentation.
    public init(
        transposition: ClosedRange<Int> = 0...0, velocityShift: ClosedRange<Int> = 0...0,
        tempoScale: ClosedRange<Double> = 1...1
    ) {
        self.transposition = transposition
        self.velocityShift = velocityShift
        self.tempoScale = tempoScale
    }

    /// No augmentation.
    public static let none = Augmentation()
    /// The default for training: -5...+6 semitones (every key once), +-2 velocity bins, tempo x0.9...1.1.
    public static let standard = Augmentation(transposition: -5...6, velocityShift: -2...2, tempoScale: 0.9...1.1)

    /// Whether this changes anything.
    public var isIdentity: Bool { transposition == 0...0 && velocityShift == 0...0 && tempoScale == 1...1 }

    /// One piece's draw: the amounts applied to it.
    public struct Draw: Equatable, Sendable {
        /// Semitones (0 when the drawn transposition left the piano range).
        public var semitones: Int
        /// Velocity bins.
        public var velocityBins: Int
        /// Tempo factor.
        public var tempoFactor: Double
    }

    /// The amounts for piece `piece` in epoch `epoch` of a run seeded with `seed`.
    public func draw(seed: UInt64, epoch: Int, piece: Int) -> Draw {
        var g = SeededGenerator(seed: SeededShuffle.mix(seed, 0xA06, UInt64(epoch), UInt64(piece)))
        let k = Int.random(in: transposition, using: &g)
        let s = Int.random(in: velocityShift, using: &g)
        let f =
            tempoScale.lowerBound == tempoScale.upperBound
            ? tempoScale.lowerBound
            : Double.random(in: tempoScale, using: &g)
        return Draw(semitones: k, velocityBins: s, tempoFactor: f)
    }

    /// `ids` with `draw` applied (see the type's rules), using `tokenizer`'s event space.
    public func apply(_ draw: Draw, to ids: [Int32], tokenizer: REMITokenizer) -> [Int32] {
        let v = tokenizer.vocabulary, config = tokenizer.config
        var out = tokenizer.transposed(ids, by: draw.semitones)
        var i = 0
        while i < out.count {
            guard let event = v.event(for: Int(out[i])) else { i += 1; continue }
            switch event {
            case let .velocity(bin) where draw.velocityBins != 0:
                let shifted = min(max(bin + draw.velocityBins, 0), config.velocityBins - 1)
                out[i] = Int32(v.id(for: .velocity(shifted)) ?? Int(out[i]))
            case let .tempoClass(c) where draw.tempoFactor != 1 && i + 1 < out.count:
                if case let .tempoValue(value)? = v.event(for: Int(out[i + 1])), c < config.tempoClasses.count {
                    let bpm = Double(config.tempoClasses[c].lowerBPM + value) * draw.tempoFactor
                    let scaled = tokenizer.tempoClassAndValue(bpm: Int(bpm.rounded()))
                    if let classID = v.id(for: .tempoClass(scaled.tempoClass)),
                        let valueID = v.id(for: .tempoValue(scaled.value))
                    {
                        out[i] = Int32(classID)
                        out[i + 1] = Int32(valueID)
                    }
                    i += 1
                }
            default: break
            }
            i += 1
        }
        return out
    }
}
