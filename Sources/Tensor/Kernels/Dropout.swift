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
        precondition(probability >= 0 && probability < 1, "dropout probability \(probability) outside [0, 1)")
        let keep = 1 / (1 - probability)
        var i = 0
        while i < count {
            let bits = generator.next()
            mask[i] = Float(bits >> 40) * (1.0 / 16_777_216.0) < probability ? 0 : keep
            if i + 1 < count {
                mask[i + 1] = Float((bits >> 8) & 0xFF_FFFF) * (1.0 / 16_777_216.0) < probability ? 0 : keep
            }
            i += 2
        }
    }

    /// `out[i] = input[i] · mask[i]`; `out` may alias `input`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        mask: UnsafePointer<Float>, count: Int
    ) {
        Parallel.forEachRange(count, minimumChunk: 1 << 15) { range in
            for i in range { out[i] = input[i] * mask[i] }
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
            for i in range { dInput[i] += dOut[i] * mask[i] }
        }
    }
}
