import Corpus
import Foundation
import Generation
import MIDI
import Models
import REMI

/// Fits a model's `StyleBias` (docs/control.md, "Style") with its weights frozen: the model
/// reads the opening of each training piece with the piece's own style in the stream, as in
/// training, and the bias that best predicts the music tokens it read is found by Adam. The
/// loss is convex in the bias (a softmax cross-entropy in the logits plus an L2 term), so the
/// fit does not depend on where it starts.
///
/// First the shared part on every style's openings together, then each style's offset on its
/// own openings, on top of the shared part, pulled towards zero by `styleL2`: a style with few
/// pieces gets a small offset, which is what keeps another style's offset from scoring its
/// pieces better than its own.
public enum StyleBiasFitting {
    /// The logits a model gave before each music token of some pieces, and those tokens.
    public struct Readings: Sendable {
        /// Ids the model predicts.
        public let vocabularySize: Int
        /// `count` rows of `vocabularySize` logits.
        public private(set) var logits: [Float] = []
        /// The token that followed each row.
        public private(set) var targets: [Int] = []
        /// Rows read.
        public var count: Int { targets.count }

        /// Empty readings for a model of `vocabularySize` ids.
        public init(vocabularySize: Int) { self.vocabularySize = vocabularySize }

        /// Adds a row: `logits` (one per id) before `target`.
        public mutating func append(logits row: some Collection<Float>, target: Int) {
            precondition(row.count == vocabularySize && (0..<vocabularySize).contains(target))
            logits.append(contentsOf: row)
            targets.append(target)
        }

        /// Adds every row of `other`.
        public mutating func append(_ other: Readings) {
            precondition(other.vocabularySize == vocabularySize)
            logits += other.logits
            targets += other.targets
        }
    }

    /// How a bias is fitted.
    public struct Options: Sendable {
        /// Tokens read from the start of each training piece.
        public var tokens = 512
        /// Training pieces read per style at most (in the data's order).
        public var piecesPerStyle = 240
        /// L2 weight on the shared part.
        public var genericL2: Float = 1e-3
        /// L2 weight on each style's offset.
        public var styleL2: Float = 1e-3
        /// Adam steps per fit.
        public var iterations = 150
        /// Defaults.
        public init() {}
    }

    /// What `stepper` predicts before each music token of `ids` (a piece from its start, its
    /// control tokens included), read after an `End Of Piece` as in generation.
    public static func read(_ ids: [Int], stepper: TokenStepper, vocabulary: Vocabulary) throws -> Readings {
        var readings = Readings(vocabularySize: vocabulary.count)
        var logits = try stepper.prime([Int32(vocabulary.endOfPieceID)])
        for id in ids {
            if vocabulary.event(for: id)?.isControl != true { readings.append(logits: logits, target: id) }
            logits = try stepper.step(Int32(id))
        }
        return readings
    }

    /// The mean cross-entropy of `readings` under softmax(logits + base + bias), plus
    /// `l2` |bias|², and its gradient with respect to `bias`:
    /// mean over rows of (softmax - one-hot of the target), plus 2 `l2` bias.
    public static func loss(_ readings: Readings, base: [Float]?, bias: [Float], l2: Float) -> (
        loss: Double, gradient: [Double]
    ) {
        loss([readings], base: base, bias: bias, l2: l2)
    }

    /// `loss` over the rows of every one of `parts` in order, as if they were one `Readings`
    /// (without copying them into one).
    static func loss(_ parts: [Readings], base: [Float]?, bias: [Float], l2: Float) -> (
        loss: Double, gradient: [Double]
    ) {
        let V = bias.count
        var shift = bias
        if let base { for j in 0..<V { shift[j] += base[j] } }
        var gradient = [Double](repeating: 0, count: V)
        let total = gradient.withUnsafeMutableBufferPointer {
            crossEntropy(parts, shift: shift, gradient: $0.baseAddress)
        }
        let n = Double(max(parts.reduce(0) { $0 + $1.count }, 1))
        var penalty = 0.0
        for j in 0..<V {
            gradient[j] = gradient[j] / n + 2 * Double(l2) * Double(bias[j])
            penalty += Double(l2) * Double(bias[j]) * Double(bias[j])
        }
        return (total / n + penalty, gradient)
    }

    /// The mean NLL (nats per scored token) of `readings` with `bias` added to every row of
    /// logits (nothing added when nil): what a style's row does to held-out music.
    public static func meanNLL(_ readings: Readings, bias: [Float]?) -> Double {
        let shift = bias ?? [Float](repeating: 0, count: readings.vocabularySize)
        return crossEntropy([readings], shift: shift, gradient: nil) / Double(max(readings.count, 1))
    }

    /// The summed cross-entropy of every row of `parts` under softmax(logits + shift), and, when
    /// `gradient` (V values) is given, the sum over rows of (softmax - one-hot of the target)
    /// added into it.
    private static func crossEntropy(
        _ parts: [Readings], shift: [Float], gradient: UnsafeMutablePointer<Double>?
    ) -> Double {
        let V = shift.count
        var total = 0.0
        var p = [Double](repeating: 0, count: V)
        for readings in parts {
            readings.logits.withUnsafeBufferPointer { z in
                for (row, target) in readings.targets.enumerated() {
                    let zr = z.baseAddress! + row * V
                    var maximum = -Double.infinity
                    for j in 0..<V {
                        p[j] = Double(zr[j] + shift[j])
                        maximum = max(maximum, p[j])
                    }
                    var sum = 0.0
                    for j in 0..<V {
                        p[j] = exp(p[j] - maximum)
                        sum += p[j]
                    }
                    total += log(sum) + maximum - Double(zr[target] + shift[target])
                    if let gradient {
                        for j in 0..<V { gradient[j] += p[j] / sum }
                        gradient[target] -= 1
                    }
                }
            }
        }
        return total
    }

    /// The bias minimising `loss` (Adam from zero, `iterations` steps, step size 0.05).
    public static func fit(_ readings: Readings, base: [Float]?, l2: Float, iterations: Int) -> [Float] {
        fit([readings], base: base, l2: l2, iterations: iterations)
    }

    /// `fit` on the rows of every one of `parts` together.
    static func fit(_ parts: [Readings], base: [Float]?, l2: Float, iterations: Int) -> [Float] {
        let V = parts.first?.vocabularySize ?? 0
        var bias = [Float](repeating: 0, count: V)
        guard parts.contains(where: { $0.count > 0 }) else { return bias }
        var m = [Double](repeating: 0, count: V), v = m
        let rate = 0.05, beta1 = 0.9, beta2 = 0.999
        for t in 1...max(1, iterations) {
            let g = loss(parts, base: base, bias: bias, l2: l2).gradient
            let c1 = 1 - pow(beta1, Double(t)), c2 = 1 - pow(beta2, Double(t))
            for j in 0..<V {
                m[j] = beta1 * m[j] + (1 - beta1) * g[j]
                v[j] = beta2 * v[j] + (1 - beta2) * g[j] * g[j]
                bias[j] -= Float(rate * (m[j] / c1) / ((v[j] / c2).squareRoot() + 1e-8))
            }
        }
        return bias
    }

    /// The openings of every style's training pieces, read by the model: one `Readings` per
    /// style of the tokenizer (empty for a style without pieces), and the pieces read.
    public struct Openings: Sendable {
        /// Per style, in the tokenizer's order.
        public var readings: [Readings]
        /// Pieces read per style.
        public var pieces: [Int]
        /// Tokens read from the start of each piece.
        public var tokens: Int
    }

    /// Reads the openings (`options.tokens` tokens, each piece's own style, key and density
    /// in the stream as in training) of up to `options.piecesPerStyle` training pieces of
    /// `files` per style the model knows. `progress` is told each style's pieces and rows.
    /// - Throws: `TrainingError.nothingToFit` when the model has no styles or no training
    ///   piece carries one of them; a stepper's error.
    public static func readOpenings(
        stepper: TokenStepper, tokenizer: REMITokenizer, files: [CorpusFile], options: Options = Options(),
        progress: ((_ style: String, _ pieces: Int, _ rows: Int) -> Void)? = nil
    ) throws -> Openings {
        let styles = tokenizer.config.styles, vocabulary = tokenizer.vocabulary
        guard !styles.isEmpty else { throw TrainingError.nothingToFit(reason: "the model has no style tokens") }
        var byStyle = [Readings](repeating: Readings(vocabularySize: vocabulary.count), count: styles.count)
        var pieces = [Int](repeating: 0, count: styles.count)
        for (index, style) in styles.enumerated() {
            for file in files where file.split == .train && file.style == style {
                guard pieces[index] < options.piecesPerStyle else { break }
                guard let midi = try? MIDIFile(contentsOf: URL(fileURLWithPath: file.path)),
                    let all = try? tokenizer.tokenize(midi)
                else { continue }
                let ids = all.filter { $0 != vocabulary.endOfPieceID }
                let opening = Array(ids.prefix(options.tokens))
                guard !opening.isEmpty else { continue }
                let headed = tokenizer.withHeaders(opening, style: index, key: tokenizer.key(ofIDs: ids), density: true)
                byStyle[index].append(try read(headed, stepper: stepper, vocabulary: vocabulary))
                pieces[index] += 1
            }
            if pieces[index] > 0 { progress?(style, pieces[index], byStyle[index].count) }
        }
        guard pieces.contains(where: { $0 > 0 }) else {
            throw TrainingError.nothingToFit(
                reason:
                    "no readable training piece carries one of the model's styles (\(styles.joined(separator: ", ")))"
                    + "; a MAESTRO-style CSV names each piece's composer")
        }
        return Openings(readings: byStyle, pieces: pieces, tokens: options.tokens)
    }

    /// The shared part of the bias, fitted on all of `openings` together.
    public static func fitGeneric(_ openings: Openings, options: Options = Options()) -> [Float] {
        fit(openings.readings, base: nil, l2: options.genericL2, iterations: options.iterations)
    }

    /// The bias fitted on `openings` (read from a model with `tokenizer`): the shared part on
    /// all of them (or `generic`, when already fitted with the same options), then each
    /// style's offset on its own.
    public static func fit(
        _ openings: Openings, tokenizer: REMITokenizer, options: Options = Options(), generic: [Float]? = nil
    ) -> StyleBias {
        let V = tokenizer.vocabulary.count
        let generic = generic ?? fitGeneric(openings, options: options)
        let offsets = openings.readings.map { readings in
            readings.count == 0
                ? [Float](repeating: 0, count: V)
                : fit(readings, base: generic, l2: options.styleL2, iterations: options.iterations)
        }
        return StyleBias(
            styles: tokenizer.config.styles, vocabularySize: V, generic: generic, offsets: offsets,
            fittedTokens: openings.tokens, pieces: openings.pieces)
    }
}
