import Tensor

/// Draws the initial values of parameters (spec, "Init"), always through a `SeededGenerator`;
/// for `WeightFill.zeros`, draws nothing.
struct Initializer {
    /// nil: every drawn tensor is zeros instead.
    var generator: SeededGenerator?

    init(_ fill: WeightFill) {
        switch fill {
        case .drawn(let generator): self.generator = generator
        case .zeros: self.generator = nil
        }
    }

    /// A tensor of `shape` with entries `mean + standardDeviation * N(0, 1)` (`mean` when not drawing).
    mutating func normal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 0.02) -> Tensor {
        guard var source = generator else { return constant(shape, mean) }
        let t = Tensor(zeros: shape)
        for i in 0..<t.count { t[i] = mean + standardDeviation * source.nextNormal() }
        generator = source
        return t
    }

    /// A tensor of `shape` filled with `value`.
    func constant(_ shape: [Int], _ value: Float = 0) -> Tensor {
        let t = Tensor(zeros: shape)
        if value != 0 { t.buffer.update(repeating: value) }
        return t
    }
}

/// How a new model's weights are filled.
public enum WeightFill: Sendable {
    /// The spec init (docs/models.md), drawn from the generator: a model to train.
    case drawn(SeededGenerator)
    /// Every weight at the mean it would be drawn around (zeros; LayerNorm gains 1): a model
    /// about to load every weight from a checkpoint, which then skips drawing millions of
    /// normal values that the load would overwrite.
    case zeros
}
