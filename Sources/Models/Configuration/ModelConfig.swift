import Basics
import Foundation

/// Which architecture a `ModelConfig` describes.
public enum ModelKind: String, Codable, Sendable, CaseIterable {
    /// Transformer-XL with segment recurrence and relative positions (Dai et al., 2019).
    case transformerXL = "transformer-xl"
    /// GPT-2: pre-LayerNorm decoder with learned absolute positions.
    case gpt2 = "gpt2"
}

/// Why a model configuration is unusable.
public enum ModelConfigError: Error, CustomStringConvertible, Equatable {
    /// `field` has `value`, which breaks `rule`.
    case invalid(field: String, value: String, rule: String)
    /// No preset is called `name`.
    case unknownPreset(name: String)
    /// The JSON could not be decoded (`reason` from the decoder).
    case undecodable(reason: String)

    public var description: String {
        switch self {
        case let .invalid(field, value, rule): return "model config: \(field) = \(value) is invalid: \(rule)"
        case let .unknownPreset(name):
            return "unknown model preset '\(name)'; choose one of: \(ModelConfig.presetNames.joined(separator: ", "))"
        case let .undecodable(reason): return "model config JSON could not be read: \(reason)"
        }
    }
}

/// Every size and switch of a model; saved as JSON with each checkpoint.
///
/// JSON keys follow the reference Transformer-XL's argument names (`n_layer`, `d_model`,
/// `tgt_len`, `mem_len`, ...) so a config reads the same in both code bases.
public struct ModelConfig: Codable, Equatable, Sendable {
    /// The architecture.
    public var kind: ModelKind
    /// Number of transformer blocks (L).
    public var layers: Int
    /// Width of the residual stream (D).
    public var modelWidth: Int
    /// Number of attention heads (H).
    public var heads: Int
    /// Width of one head (d); `heads * headSize` need not equal `modelWidth` for Transformer-XL.
    public var headSize: Int
    /// Hidden width of the feed-forward block.
    public var innerWidth: Int
    /// Number of token ids.
    public var vocabularySize: Int
    /// Tokens per training segment (T). For GPT-2 also the default context window.
    public var segmentLength: Int
    /// Rows of memory per layer kept between segments (Transformer-XL only).
    public var memoryLength: Int
    /// The memory a Transformer-XL decoder keeps by default when stepping one token at a time:
    /// `memoryLength`, or for a model trained without memory its segment length (a decoder
    /// without memory would see only the current token, not the context it was trained on).
    public var steppingMemoryLength: Int { memoryLength > 0 ? memoryLength : segmentLength }
    /// Relative distances beyond this are clamped to it; <= 0 means no clamping (TXL only).
    public var clampLength: Int
    /// Every query sees the same number of keys (TXL evaluation option, spec section 4).
    public var sameLength: Bool
    /// Dropout probability on embeddings, block outputs and the feed-forward hidden layer.
    public var dropout: Float
    /// Dropout probability on attention probabilities.
    public var attentionDropout: Float
    /// Learned positions (GPT-2 only): the longest context the model can read.
    public var positions: Int
    /// LayerNorm's epsilon (1e-5 in both references).
    public var layerNormEpsilon: Float

    enum CodingKeys: String, CodingKey, CaseIterable {
        case kind, dropout, dropatt
        case layers = "n_layer", modelWidth = "d_model", heads = "n_head", headSize = "d_head"
        case innerWidth = "d_inner", vocabularySize = "n_token", segmentLength = "tgt_len"
        case memoryLength = "mem_len", clampLength = "clamp_len", sameLength = "same_length"
        case positions = "n_positions", layerNormEpsilon = "layer_norm_epsilon"
    }

    /// A configuration from its fields; call `validate()` before building a model from input.
    public init(
        kind: ModelKind, layers: Int, modelWidth: Int, heads: Int, headSize: Int, innerWidth: Int,
        vocabularySize: Int, segmentLength: Int, memoryLength: Int, clampLength: Int = -1,
        sameLength: Bool = false, dropout: Float = 0, attentionDropout: Float = 0,
        positions: Int? = nil, layerNormEpsilon: Float = 1e-5
    ) {
        self.kind = kind
        self.layers = layers
        self.modelWidth = modelWidth
        self.heads = heads
        self.headSize = headSize
        self.innerWidth = innerWidth
        self.vocabularySize = vocabularySize
        self.segmentLength = segmentLength
        self.memoryLength = memoryLength
        self.clampLength = clampLength
        self.sameLength = sameLength
        self.dropout = dropout
        self.attentionDropout = attentionDropout
        self.positions = positions ?? segmentLength
        self.layerNormEpsilon = layerNormEpsilon
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            kind: try c.decode(ModelKind.self, forKey: .kind),
            layers: try c.decode(Int.self, forKey: .layers),
            modelWidth: try c.decode(Int.self, forKey: .modelWidth),
            heads: try c.decode(Int.self, forKey: .heads),
            headSize: try c.decode(Int.self, forKey: .headSize),
            innerWidth: try c.decode(Int.self, forKey: .innerWidth),
            vocabularySize: try c.decode(Int.self, forKey: .vocabularySize),
            segmentLength: try c.decode(Int.self, forKey: .segmentLength),
            memoryLength: try c.decodeIfPresent(Int.self, forKey: .memoryLength) ?? 0,
            clampLength: try c.decodeIfPresent(Int.self, forKey: .clampLength) ?? -1,
            sameLength: try c.decodeIfPresent(Bool.self, forKey: .sameLength) ?? false,
            dropout: try c.decodeIfPresent(Float.self, forKey: .dropout) ?? 0,
            attentionDropout: try c.decodeIfPresent(Float.self, forKey: .dropatt) ?? 0,
            positions: try c.decodeIfPresent(Int.self, forKey: .positions),
            layerNormEpsilon: try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon) ?? 1e-5)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(layers, forKey: .layers)
        try c.encode(modelWidth, forKey: .modelWidth)
        try c.encode(heads, forKey: .heads)
        try c.encode(headSize, forKey: .headSize)
        try c.encode(innerWidth, forKey: .innerWidth)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(segmentLength, forKey: .segmentLength)
        try c.encode(memoryLength, forKey: .memoryLength)
        try c.encode(clampLength, forKey: .clampLength)
        try c.encode(sameLength, forKey: .sameLength)
        try c.encode(dropout, forKey: .dropout)
        try c.encode(attentionDropout, forKey: .dropatt)
        try c.encode(positions, forKey: .positions)
        try c.encode(layerNormEpsilon, forKey: .layerNormEpsilon)
    }

    /// The preset names `preset(named:)` accepts.
    public static let presetNames = ["tiny", "small"]

    /// `tiny`: 2 layers of width 64 (4 heads of 16, inner 256), segment 32, memory 32. For tests.
    public static func tiny(_ kind: ModelKind, vocabularySize: Int) -> ModelConfig {
        ModelConfig(
            kind: kind, layers: 2, modelWidth: 64, heads: 4, headSize: 16, innerWidth: 256,
            vocabularySize: vocabularySize, segmentLength: 32, memoryLength: kind == .gpt2 ? 0 : 32)
    }

    /// `small`: 6 layers of width 256 (8 heads of 32, inner 1024), segment 128, memory 128
    /// (GPT-2: a window of 256 positions, the context Transformer-XL sees in training).
    public static func small(_ kind: ModelKind, vocabularySize: Int) -> ModelConfig {
        ModelConfig(
            kind: kind, layers: 6, modelWidth: 256, heads: 8, headSize: 32, innerWidth: 1024,
            vocabularySize: vocabularySize, segmentLength: 128, memoryLength: kind == .gpt2 ? 0 : 128,
            dropout: 0.1, attentionDropout: 0, positions: kind == .gpt2 ? 256 : nil)
    }

    /// The preset called `name` (`tiny` or `small`).
    public static func preset(named name: String, kind: ModelKind, vocabularySize: Int) throws -> ModelConfig {
        switch name {
        case "tiny": return tiny(kind, vocabularySize: vocabularySize)
        case "small": return small(kind, vocabularySize: vocabularySize)
        default: throw ModelConfigError.unknownPreset(name: name)
        }
    }

    /// Decodes and validates a config from JSON; a key that is not a field is an error naming
    /// the nearest field (`source` names the file in that message).
    public static func decode(json: Data, source: String = "model config") throws -> ModelConfig {
        try JSONKeys.requireKnown(json, known: CodingKeys.allCases.map(\.rawValue), source: source)
        let config: ModelConfig
        do { config = try JSONDecoder().decode(ModelConfig.self, from: json) } catch {
            throw ModelConfigError.undecodable(reason: JSONKeys.describe(error))
        }
        try config.validate()
        return config
    }

    /// The config as pretty, key-sorted JSON.
    public func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // Encoding plain numbers, strings and booleans cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Throws `ModelConfigError.invalid` for the first field out of range.
    public func validate() throws {
        func check(_ ok: Bool, _ field: String, _ value: Any, _ rule: String) throws {
            if !ok { throw ModelConfigError.invalid(field: field, value: "\(value)", rule: rule) }
        }
        // The upper bounds keep every size product within Int and every buffer allocatable
        // (docs/limits.md); they are far above any model a CPU can train.
        try check((1...Self.maximumLayers).contains(layers), "n_layer", layers, "must be 1...\(Self.maximumLayers)")
        try check(
            modelWidth >= 2 && modelWidth <= Self.maximumWidth && modelWidth % 2 == 0, "d_model", modelWidth,
            "must be even and 2...\(Self.maximumWidth)")
        try check((1...1024).contains(heads), "n_head", heads, "must be 1...1024")
        try check((1...Self.maximumWidth).contains(headSize), "d_head", headSize, "must be 1...\(Self.maximumWidth)")
        try check(
            (1...4 * Self.maximumWidth).contains(innerWidth), "d_inner", innerWidth,
            "must be 1...\(4 * Self.maximumWidth)")
        try check((2...65_536).contains(vocabularySize), "n_token", vocabularySize, "must be 2...65536")
        try check(
            (1...Self.maximumLength).contains(segmentLength), "tgt_len", segmentLength,
            "must be 1...\(Self.maximumLength)")
        try check(
            (0...Self.maximumLength).contains(memoryLength), "mem_len", memoryLength,
            "must be 0...\(Self.maximumLength)")
        try check(
            (1...Self.maximumLength).contains(positions), "n_positions", positions, "must be 1...\(Self.maximumLength)")
        try check(dropout >= 0 && dropout < 1, "dropout", dropout, "must be in [0, 1)")
        try check(attentionDropout >= 0 && attentionDropout < 1, "dropatt", attentionDropout, "must be in [0, 1)")
        try check(layerNormEpsilon > 0, "layer_norm_epsilon", layerNormEpsilon, "must be positive")
        if kind == .gpt2 {
            try check(
                heads * headSize == modelWidth, "n_head * d_head", heads * headSize,
                "must equal d_model (\(modelWidth)) for GPT-2")
            try check(
                positions >= segmentLength, "n_positions", positions, "must be at least tgt_len (\(segmentLength))")
        }
        try check(
            heads * headSize <= Self.maximumWidth, "n_head * d_head", heads * headSize,
            "must be at most \(Self.maximumWidth)")
        try check(
            parameterCount <= Self.maximumParameters, "parameters", parameterCount,
            "must be at most \(Self.maximumParameters)")
    }

    /// Largest `n_layer` accepted.
    public static let maximumLayers = 256
    /// Largest `d_model`, `d_head` and `n_head * d_head` accepted (`d_inner` may be 4 times it).
    public static let maximumWidth = 16_384
    /// Largest `tgt_len`, `mem_len` and `n_positions` accepted.
    public static let maximumLength = 65_536
    /// Largest parameter count accepted: training keeps 16 bytes per parameter (weights,
    /// gradients and Adam's two moments).
    public static let maximumParameters = 1_000_000_000

    /// A rough upper estimate of the bytes a forward and backward pass over `batch` streams of
    /// one segment keeps alive: the per-token activations of every layer, the attention scores
    /// and probabilities (queries x keys per head, keys being the segment plus the memory),
    /// the logits, and the parameters with their gradients and Adam's moments. Commands refuse
    /// settings whose estimate exceeds the machine's memory before anything is allocated, so
    /// that a large `--batch` or `--seg-len` is an error, not a crash.
    /// Computed in floating point, so that no setting can overflow it.
    public func trainingMemoryEstimate(batch: Int) -> Double {
        let tokens = Double(batch) * Double(segmentLength)
        let keys = Double(segmentLength + (kind == .transformerXL ? memoryLength : 0))
        let perTokenPerLayer = 16 * Double(modelWidth) + 3 * Double(innerWidth) + 2 * Double(heads) * keys
        let floats =
            tokens * (Double(layers) * perTokenPerLayer + 3 * Double(vocabularySize)) + 4 * Double(parameterCount)
        return 4 * floats
    }

    /// The number of trainable parameters (the tied output weight counted once).
    public var parameterCount: Int {
        let D = modelWidth, I = innerWidth, HD = heads * headSize
        switch kind {
        case .transformerXL:
            // qkv, r, o projections (no bias), 2 LayerNorms, feed-forward with biases.
            let perLayer = 3 * HD * D + HD * D + HD * D + 2 * 2 * D + (D * I + I) + (I * D + D)
            return vocabularySize * D + 2 * HD + layers * perLayer + vocabularySize
        case .gpt2:
            let perLayer = 2 * 2 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * I + I) + (I * D + D)
            return vocabularySize * D + positions * D + layers * perLayer + 2 * D
        }
    }
}
