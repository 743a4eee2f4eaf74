import Tensor

/// A model's trainable tensors, listed under their checkpoint names in a fixed order.
///
/// The same struct type holds a model's gradients (`zerosLike()`), so an optimizer walks
/// `namedTensors()` of the parameters and of the gradients side by side.
public protocol ParameterSet {
    /// Every tensor with its checkpoint name, in a fixed order (tied weights listed once).
    func namedTensors() -> [(name: String, tensor: Tensor)]
    /// A set of the same shapes filled with zeros (a gradient buffer).
    func zerosLike() -> Self
}

extension ParameterSet {
    /// Sets every tensor to zero (start of a gradient accumulation).
    public func zero() {
        for (_, t) in namedTensors() { t.zero() }
    }

    /// The total number of scalars.
    public var scalarCount: Int { namedTensors().reduce(0) { $0 + $1.tensor.count } }

    /// The tensors as a safetensors file, with `metadata` (e.g. the model config as JSON).
    public func safetensors(metadata: [String: String]) -> SafetensorsFile {
        var tensors: [String: Tensor] = [:]
        for (name, t) in namedTensors() { tensors[name] = t }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    /// Copies every tensor's values from `file`, checking names and shapes.
    public func load(from file: SafetensorsFile) throws {
        for (name, t) in namedTensors() {
            let source = try file.tensor(name, shape: t.shape)
            t.pointer.update(from: source.pointer, count: t.count)
        }
    }
}

/// A model that is a config plus a `ParameterSet`: both models load and save checkpoints the
/// same way, so the code lives here once. The tensor names are the parameters' own (reference
/// state_dict names for Transformer-XL, Hugging Face's for GPT-2).
public protocol CheckpointedModel {
    /// The model's tensors.
    associatedtype Parameters: ParameterSet
    /// Sizes and switches.
    var config: ModelConfig { get }
    /// The weights.
    var parameters: Parameters { get }
    /// A freshly initialised model (spec init) drawn from `generator`.
    init(config: ModelConfig, generator: SeededGenerator) throws
}

extension CheckpointedModel {
    /// A model with the weights in `checkpoint`, checked by name and shape.
    public init(config: ModelConfig, checkpoint: SafetensorsFile) throws {
        try self.init(config: config, generator: SeededGenerator(seed: 0))
        try parameters.load(from: checkpoint)
    }

    /// The weights and the config (as JSON under the `config` metadata key).
    public func checkpoint() -> SafetensorsFile {
        parameters.safetensors(metadata: ["config": config.json(), "format": "pt"])
    }
}

/// Draws the initial values of parameters (spec, "Init"), always through a `SeededGenerator`.
struct Initializer {
    var generator: SeededGenerator

    /// A tensor of `shape` with entries `mean + standardDeviation * N(0, 1)`.
    mutating func normal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 0.02) -> Tensor {
        let t = Tensor(zeros: shape)
        for i in 0..<t.count { t[i] = mean + standardDeviation * generator.nextNormal() }
        return t
    }

    /// A tensor of `shape` filled with `value`.
    func constant(_ shape: [Int], _ value: Float = 0) -> Tensor {
        let t = Tensor(zeros: shape)
        if value != 0 { t.buffer.update(repeating: value) }
        return t
    }
}

/// A LayerNorm's gain and bias, [D] each.
public struct LayerNormParameters {
    /// Gain (`weight` in both references), [D].
    public var weight: Tensor
    /// Bias, [D].
    public var bias: Tensor

    /// Gain N(1, 0.02) for Transformer-XL, 1 for GPT-2 (`gainDeviation` 0); bias 0.
    init(width: Int, _ initializer: inout Initializer, gainDeviation: Float) {
        weight = gainDeviation > 0 ? initializer.normal([width], mean: 1, standardDeviation: gainDeviation)
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
