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

/// A LayerNorm's gain and bias as raw pointers, for a decoder step that several threads run at
/// once: copying `LayerNormParameters` counts references to its tensors, a write to memory that
/// every thread reads. Whoever makes one keeps the tensors alive.
struct LayerNormPointers {
    let weight: UnsafePointer<Float>, bias: UnsafePointer<Float>

    init(_ p: LayerNormParameters) {
        weight = UnsafePointer(p.weight.pointer)
        bias = UnsafePointer(p.bias.pointer)
    }

    /// The tensors the pointers point into.
    static func tensors(_ p: LayerNormParameters) -> [AnyObject] { [p.weight, p.bias] }

    /// `out = LayerNorm(input)` for `rows` rows of `width`, on the calling thread; the
    /// statistics are scratch.
    func normalize(
        _ input: UnsafePointer<Float>, rows: Int, width: Int, epsilon: Float, into out: UnsafeMutablePointer<Float>
    ) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * rows) { statistics in
            LayerNorm.forward(
                out: out, mean: statistics.baseAddress!, rstd: statistics.baseAddress! + rows, input: input,
                weight: weight, bias: bias, rows: rows, width: width, eps: epsilon)
        }
    }
}
