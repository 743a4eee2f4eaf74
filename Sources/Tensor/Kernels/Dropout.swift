import TensorKernels

/// Inverted dropout: each element is kept with probability 1 - p and scaled by 1/(1 - p), so
/// evaluation (no dropout) needs no rescaling. The mask is saved for the backward.
public enum Dropout {
    /// Fills `mask` [count] with 0 (probability `probability`) or 1/(1 - probability), drawing
    /// from `generator` in index order (one 64-bit draw per two elements: the top 24 bits of
    /// each 32-bit half as a uniform in [0, 1)), so the same seed gives the same mask.
    public static func makeMask(
        _ mask: UnsafeMutablePointer<Float>, count: Int, probability: Float,
        generator: inout SeededGenerator
    ) {
        var generators = [generator]
        makeMasks(mask, streams: 1, count: count, probability: probability, generators: &generators)
        generator = generators[0]
    }

    /// `makeMask` for `streams` streams at once: stream s's `count` entries at `mask + s · count`
    /// from `generators[s]` (each left where its stream ends), and, where `x` is given (same
    /// layout), `x[i] *= mask[i]` in the same pass. Groups of eight streams are drawn side by
    /// side in the lanes of a vector (`cadenza_dropout_masks`), and the groups share the worker
    /// pool; the numbers are those of `makeMask` stream by stream.
    public static func makeMasks(
        _ mask: UnsafeMutablePointer<Float>, streams: Int, count: Int, probability: Float,
        generators: inout [SeededGenerator], applyingTo x: UnsafeMutablePointer<Float>? = nil
    ) {
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) outside [0, 1)")
        precondition(streams >= 0 && count >= 0, "negative dropout mask size")
        precondition(generators.count == streams, "\(generators.count) generators for \(streams) streams")
        let keep = 1 / (1 - probability)
        // A draw's 24-bit half u is dropped when u · 2⁻²⁴ < probability, that is (u being an
        // integer and both sides exact) when u < ⌈probability · 2²⁴⌉.
        let threshold = UInt32((Double(probability) * 16_777_216).rounded(.up))
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: 4 * streams) { states in
            guard let states = states.baseAddress else { return }
            for s in 0..<streams {
                let g = generators[s].state
                (states[4 * s], states[4 * s + 1], states[4 * s + 2], states[4 * s + 3]) = (g.0, g.1, g.2, g.3)
            }
            let groups = (streams + 7) / 8
            let draw = { (group: Int) in
                let first = 8 * group, lanes = Swift.min(8, streams - first)
                cadenza_dropout_masks(
                    states + 4 * first, lanes, count, threshold, keep, mask + first * count,
                    x.map { $0 + first * count })
            }
            if groups > 1 && streams * count >= 1 << 15 {
                Parallel.forEachIndex(groups, draw)
            } else {
                (0..<groups).forEach(draw)
            }
            for s in 0..<streams {
                generators[s].state = (states[4 * s], states[4 * s + 1], states[4 * s + 2], states[4 * s + 3])
            }
        }
    }

    /// `out[i] = input[i] · mask[i]`; `out` may alias `input`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        mask: UnsafePointer<Float>, count: Int
    ) {
        Parallel.forEachRange(count, minimumChunk: 1 << 15) { range in
            let i = range.lowerBound
            vectorMultiply(out + i, input + i, mask + i, range.count)
        }
    }

    /// Draws a fresh mask into `mask` and applies it: `makeMask` then `forward`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        mask: UnsafeMutablePointer<Float>, count: Int, probability: Float,
        generator: inout SeededGenerator
    ) {
        makeMask(mask, count: count, probability: probability, generator: &generator)
        forward(out: out, input: input, mask: mask, count: count)
    }

    /// `dInput[i] += dOut[i] · mask[i]`.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
        mask: UnsafePointer<Float>, count: Int
    ) {
        Parallel.forEachRange(count, minimumChunk: 1 << 15) { range in
            let i = range.lowerBound
            vectorAddProducts(dInput + i, dOut + i, mask + i, range.count)
        }
    }
}
