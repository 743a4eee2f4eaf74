import Tensor

/// A LayerNorm's gain and bias, [D] each.
public struct LayerNormParameters {
    /// Gain (`weight` in both references), [D].
    public var weight: Tensor
    /// Bias, [D].
    public var bias: Tensor

    /// Gain N(1, 0.02) for Transformer-XL, 1 for GPT-2 (`gainDeviation` 0); bias 0.
    init(width: Int, _ initializer: inout Initializer, gainDeviation: Float) {
        weight =
            gainDeviation > 0
            ? initializer.normal([width], mean: 1, standardDeviation: gainDeviation)
            : initializer.constant([width], 1)
        bias = initializer.constant([width])
    }

    init(weight: Tensor, bias: Tensor) {
        self.weight = weight
        self.bias = bias
    }

    func zerosLike() -> LayerNormParameters {
        LayerNormParameters(weight: Tensor(zeros: weight.shape), bias: Tensor(zeros: bias.shape))
    }

    func named(_ prefix: String) -> [(name: String, tensor: Tensor)] {
        [(prefix + ".weight", weight), (prefix + ".bias", bias)]
    }
}
