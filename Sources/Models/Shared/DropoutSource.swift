import Tensor

/// The source of dropout masks: a seeded generator in training, nothing in evaluation.
public struct DropoutSource {
    /// nil: evaluation, every dropout is the identity.
    public var generator: SeededGenerator?

    /// Training with masks drawn from `generator`.
    public static func training(_ generator: SeededGenerator) -> DropoutSource { DropoutSource(generator: generator) }
    /// Evaluation: no dropout.
    public static let evaluation = DropoutSource(generator: nil)

    /// Applies dropout with probability `p` to `x` in place and returns the mask it used
    /// (nil when nothing was dropped: evaluation or p = 0).
    mutating func apply(_ x: Tensor, probability p: Float) -> Tensor? {
        guard p > 0, generator != nil else { return nil }
        let mask = Tensor(zeros: [x.count])
        Dropout.forward(
            out: x.pointer, input: x.pointer, mask: mask.pointer, count: x.count, probability: p,
            generator: &generator!)
        return mask
    }

    /// A mask of `count` entries for attention probabilities, or nil.
    mutating func mask(count: Int, probability p: Float) -> Tensor? {
        guard p > 0, generator != nil else { return nil }
        let mask = Tensor(zeros: [count])
        Dropout.makeMask(mask.pointer, count: count, probability: p, generator: &generator!)
        return mask
    }
}

/// Multiplies a gradient by a saved dropout mask in place (identity for nil).
func dropoutBackward(_ gradient: Tensor, mask: Tensor?) {
    guard let mask else { return }
    Dropout.forward(out: gradient.pointer, input: gradient.pointer, mask: mask.pointer, count: gradient.count)
}
