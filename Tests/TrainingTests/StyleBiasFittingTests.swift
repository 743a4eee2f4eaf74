import Foundation
import Generation
import Tensor
import Testing

@testable import Training

/// The style bias's loss, its gradient against finite differences, and the fit against a bias
/// known in advance.
struct StyleBiasFittingTests {
    /// Rows of random logits, each followed by a token drawn from softmax(logits + `truth`).
    static func readings(rows: Int, vocabulary V: Int, truth: [Float], seed: UInt64) -> StyleBiasFitting.Readings {
        var random = SeededGenerator(seed: seed)
        var readings = StyleBiasFitting.Readings(vocabularySize: V)
        for _ in 0..<rows {
            let z = (0..<V).map { _ in Float.random(in: -2...2, using: &random) }
            let p = zip(z, truth).map { exp(Double($0 + $1)) }
            var u = Double.random(in: 0..<p.reduce(0, +), using: &random), target = V - 1
            for (j, pj) in p.enumerated() {
                u -= pj
                if u < 0 { target = j; break }
            }
            readings.append(logits: z, target: target)
        }
        return readings
    }

    @Test func gradientMatchesFiniteDifferences() {
        let V = 7
        let readings = Self.readings(rows: 40, vocabulary: V, truth: [Float](repeating: 0, count: V), seed: 1)
        let base: [Float] = (0..<V).map { Float($0) * 0.1 - 0.3 }
        let bias: [Float] = (0..<V).map { Float(($0 * 5) % 7) * 0.2 - 0.5 }
        let l2: Float = 0.05
        let analytic = StyleBiasFitting.loss(readings, base: base, bias: bias, l2: l2).gradient
        for j in 0..<V {
            // Central differences in float32 inputs, summed in double: h large enough to see.
            let h: Float = 1e-2
            var up = bias, down = bias
            up[j] += h
            down[j] -= h
            let numeric =
                (StyleBiasFitting.loss(readings, base: base, bias: up, l2: l2).loss
                    - StyleBiasFitting.loss(readings, base: base, bias: down, l2: l2).loss) / Double(2 * h)
            #expect(abs(numeric - analytic[j]) < 1e-4, "d/db[\(j)]: \(numeric) against \(analytic[j])")
        }
    }

    @Test func lossIsTheMeanCrossEntropyPlusThePenalty() {
        var readings = StyleBiasFitting.Readings(vocabularySize: 3)
        readings.append(logits: [0, 0, 0], target: 1)
        readings.append(logits: [Float(log(2.0)), 0, 0], target: 0)
        // Row 1: -log(1/3); row 2: -log(2/4). With a base that cancels the bias (1, 0, -2) the
        // cross-entropy stays and the penalty 0.5 * (1 + 0 + 4) is added.
        let expected = (log(3.0) + log(2.0)) / 2
        #expect(abs(StyleBiasFitting.loss(readings, base: nil, bias: [0, 0, 0], l2: 0.5).loss - expected) < 1e-6)
        let penalised = StyleBiasFitting.loss(readings, base: [-1, 0, 2], bias: [1, 0, -2], l2: 0.5).loss
        #expect(abs(penalised - (expected + 0.5 * 5)) < 1e-6)
        // The NLL alone, with a bias and without: a bias of log 2 on token 1 makes row 1
        // -log(2/4) and row 2 -log(2/5).
        #expect(abs(StyleBiasFitting.meanNLL(readings, bias: nil) - expected) < 1e-6)
        let biased = StyleBiasFitting.meanNLL(readings, bias: [0, Float(log(2.0)), 0])
        #expect(abs(biased - (log(2.0) + log(2.5)) / 2) < 1e-6)
    }

    @Test func theFitFindsTheBiasTheTokensWereDrawnWith() {
        let V = 5
        let truth: [Float] = [1.0, -0.5, 0.0, 0.8, -1.2]
        let readings = Self.readings(rows: 6000, vocabulary: V, truth: truth, seed: 2)
        let fitted = StyleBiasFitting.fit(readings, base: nil, l2: 0, iterations: 300)
        // A softmax ignores a constant added to every logit: compare the biases centred.
        func centred(_ x: [Float]) -> [Float] { let m = x.reduce(0, +) / Float(x.count); return x.map { $0 - m } }
        for (f, t) in zip(centred(fitted), centred(truth)) { #expect(abs(f - t) < 0.12, "\(fitted) against \(truth)") }
        // On top of a base that already holds the truth, nothing is left to fit.
        let rest = StyleBiasFitting.fit(readings, base: truth, l2: 0.01, iterations: 300)
        #expect(rest.allSatisfy { abs($0) < 0.1 }, "\(rest)")
    }
}
