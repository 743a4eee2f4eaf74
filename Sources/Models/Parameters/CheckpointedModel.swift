import Tensor

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
    /// A model with weights filled by `weights` (`.drawn`: the spec init; `.zeros`: to load into).
    init(config: ModelConfig, weights: WeightFill) throws
}

extension CheckpointedModel {
    /// A freshly initialised model (spec init) drawn from `generator`.
    public init(config: ModelConfig, generator: SeededGenerator) throws {
        try self.init(config: config, weights: .drawn(generator))
    }

    /// A model with the weights in `checkpoint`, checked by name and shape.
    public init(config: ModelConfig, checkpoint: SafetensorsFile) throws {
        try self.init(config: config, weights: .zeros)
        try parameters.load(from: checkpoint)
    }

    /// The weights and the config (as JSON under the `config` metadata key).
    public func checkpoint() -> SafetensorsFile {
        parameters.safetensors(metadata: ["config": config.json(), "format": "pt"])
    }
}
