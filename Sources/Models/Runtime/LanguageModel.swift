import Tensor

/// A Transformer-XL or a GPT-2 with its gradient buffers: the one thing the trainer and the
/// validation code call, so neither needs to know which architecture it drives.
public final class LanguageModel {
    /// The architecture and its weights.
    public enum Network {
        /// Transformer-XL (memory carried between segments of a stream).
        case transformerXL(TransformerXL)
        /// GPT-2 (each window read on its own).
        case gpt2(GPT2)
    }

    /// The network.
    public let network: Network
    /// Its sizes and switches.
    public var config: ModelConfig {
        switch network {
        case let .transformerXL(m): return m.config
        case let .gpt2(m): return m.config
        }
    }
    /// Every weight with its checkpoint name, in the model's fixed order.
    public let parameters: [(name: String, tensor: Tensor)]
    /// dLoss/dweight for each of `parameters`, same order and shapes.
    public let gradients: [(name: String, tensor: Tensor)]
    private let gradientSet: Any

    /// A freshly initialised model (spec init) drawn from a generator seeded with `seed`.
    public convenience init(config: ModelConfig, seed: UInt64) throws {
        let generator = SeededGenerator(seed: seed)
        switch config.kind {
        case .transformerXL: self.init(.transformerXL(try TransformerXL(config: config, generator: generator)))
        case .gpt2: self.init(.gpt2(try GPT2(config: config, generator: generator)))
        }
    }

    /// A model with the weights of `checkpoint` (names and shapes checked).
    public convenience init(config: ModelConfig, checkpoint: SafetensorsFile) throws {
        switch config.kind {
        case .transformerXL: self.init(.transformerXL(try TransformerXL(config: config, checkpoint: checkpoint)))
        case .gpt2: self.init(.gpt2(try GPT2(config: config, checkpoint: checkpoint)))
        }
    }

    /// A model for `config` that takes every weight of `checkpoint`, a model with the same
    /// sizes and the same or fewer ids (a vocabulary grown at its end, as control tokens grow
    /// it): the rows of the ids it knows are copied, the new ids' rows are drawn as in a fresh
    /// model seeded with `seed`. Throws when another tensor differs in shape.
    public convenience init(config: ModelConfig, growing checkpoint: SafetensorsFile, seed: UInt64) throws {
        try self.init(config: config, seed: seed)
        for (name, target) in parameters {
            let source = try checkpoint.tensor(name)
            let grown =
                source.shape.count == target.shape.count && source.shape.first ?? 0 < target.shape[0]
                && target.shape[0] == config.vocabularySize && source.shape.dropFirst() == target.shape.dropFirst()
            guard source.shape == target.shape || grown else {
                throw SafetensorsError.shapeMismatch(name: name, expected: target.shape, found: source.shape)
            }
            target.pointer.update(from: source.pointer, count: source.count)
        }
    }

    /// Wraps `network`, allocating its gradient buffers.
    public init(_ network: Network) {
        self.network = network
        switch network {
        case let .transformerXL(m):
            let g = m.parameters.zerosLike()
            (parameters, gradients, gradientSet) = (m.parameters.namedTensors(), g.namedTensors(), g)
        case let .gpt2(m):
            let g = m.parameters.zerosLike()
            (parameters, gradients, gradientSet) = (m.parameters.namedTensors(), g.namedTensors(), g)
        }
    }

    /// The weights as a safetensors file (config JSON in its metadata).
    public func checkpoint() -> SafetensorsFile {
        switch network {
        case let .transformerXL(m): return m.checkpoint()
        case let .gpt2(m): return m.checkpoint()
        }
    }

    /// An empty Transformer-XL memory for `batch` streams (nil for GPT-2), keeping `memoryLength`
    /// rows (default: the config's mem_len).
    public func emptyMemory(batch: Int, memoryLength: Int? = nil) -> Memory? {
        guard case let .transformerXL(m) = network, (memoryLength ?? m.config.memoryLength) > 0 else { return nil }
        return m.emptyMemory(batch: batch, memoryLength: memoryLength)
    }

    /// Forward and backward of one batch: sets `gradients` to dLoss/dweight (overwriting them)
    /// and returns the mean cross-entropy over the `tokens.count` targets (nats per token).
    /// `memory` is read and advanced (Transformer-XL); `dropout` draws the masks.
    public func lossAndGradients(
        tokens: [Int32], targets: [Int32], batch: Int, memory: inout Memory?,
        dropout: inout DropoutSource
    ) throws -> Float {
        for (_, g) in gradients { g.zero() }
        switch network {
        case let .transformerXL(m):
            var mem = memory ?? m.emptyMemory(batch: batch, memoryLength: 0)
            let segment = try m.forward(tokens: tokens, targets: targets, batch: batch, memory: &mem, dropout: &dropout)
            if memory != nil { memory = mem }
            // Reached only with `gradientSet` built from this network's parameters.
            if let g = gradientSet as? TransformerXLParameters { m.backward(segment, gradients: g) }
            return segment.loss
        case let .gpt2(m):
            let pass = try m.forward(tokens: tokens, targets: targets, batch: batch, dropout: &dropout)
            if let g = gradientSet as? GPT2Parameters { m.backward(pass, gradients: g) }
            return pass.loss
        }
    }

    /// -ln p(target) of every target of one batch, [B x T] row-major, without dropout or
    /// gradients (evaluation that needs each token's figure, such as NLL by position).
    public func targetNLLs(tokens: [Int32], targets: [Int32], batch: Int, memory: inout Memory?) throws -> [Float] {
        var dropout = DropoutSource.evaluation
        let logp: Tensor
        switch network {
        case let .transformerXL(m):
            var mem = memory ?? m.emptyMemory(batch: batch, memoryLength: 0)
            logp =
                try m.forward(
                    tokens: tokens, targets: targets, batch: batch, memory: &mem, dropout: &dropout,
                    saveForBackward: false
                ).logProbabilities
            if memory != nil { memory = mem }
        case let .gpt2(m):
            logp =
                try m.forward(
                    tokens: tokens, targets: targets, batch: batch, dropout: &dropout, saveForBackward: false
                ).logProbabilities
        }
        let V = config.vocabularySize
        return targets.enumerated().map { row, target in -logp.pointer[row * V + Int(target)] }
    }

    /// The mean cross-entropy of one batch without dropout or gradients (evaluation).
    public func loss(tokens: [Int32], targets: [Int32], batch: Int, memory: inout Memory?) throws -> Float {
        var dropout = DropoutSource.evaluation
        switch network {
        case let .transformerXL(m):
            var mem = memory ?? m.emptyMemory(batch: batch, memoryLength: 0)
            let segment = try m.forward(tokens: tokens, targets: targets, batch: batch, memory: &mem, dropout: &dropout)
            if memory != nil { memory = mem }
            return segment.loss
        case let .gpt2(m):
            return try m.forward(tokens: tokens, targets: targets, batch: batch, dropout: &dropout).loss
        }
    }
}
