import Foundation
import Tensor

/// A state dict of the authors' Transformer-XL PyTorch code (`MemTransformerLM`, kimiyoung/
/// transformer-xl), read from a safetensors file of it: Cadenza's Transformer-XL keeps the
/// authors' parameter names, so importing is a matter of reading the sizes off the shapes and
/// checking that nothing is there that Cadenza's model lacks (docs/training.md, "Models from
/// and to PyTorch").
public enum AuthorsStateDict {
    /// Entries of the authors' state dict that carry nothing Cadenza needs: the sinusoids'
    /// frequencies (a buffer computed from `d_model`) and the output weight, which the authors'
    /// `tie_weight` makes the embedding itself.
    public static let derivedNames: Set<String> = ["pos_emb.inv_freq", "crit.out_layers.0.weight"]

    /// What `configuration(of:segmentLength:memoryLength:)` could not accept.
    public struct ImportError: Error, Equatable, CustomStringConvertible {
        /// Why, in one sentence.
        public var description: String
    }

    /// The model configuration `stateDict` implies (sizes read off its shapes; the segment and
    /// memory lengths, which no weight records, as given), and the weights Cadenza reads: the
    /// state dict less `derivedNames`. Throws when a size is missing, the output weight is not
    /// tied to the embedding, or an entry belongs to a model Cadenza does not have (adaptive
    /// softmax, untied biases per layer, another architecture).
    public static func configuration(
        of stateDict: SafetensorsFile, segmentLength: Int, memoryLength: Int
    ) throws -> (ModelConfig, SafetensorsFile) {
        func shape(_ name: String) throws -> [Int] {
            guard let t = stateDict.tensors[name] else {
                throw ImportError(description: "\(name) is missing: not a Transformer-XL state dict Cadenza can read")
            }
            return t.shape
        }
        let embedding = try shape("word_emb.emb_layers.0.weight")
        let bias = try shape("r_w_bias")
        guard embedding.count == 2, bias.count == 2 else {
            throw ImportError(description: "word_emb.emb_layers.0.weight and r_w_bias must be matrices")
        }
        let layers = stateDict.tensors.keys.filter {
            $0.hasPrefix("layers.") && $0.hasSuffix(".dec_attn.qkv_net.weight")
        }
        .count
        guard layers > 0 else { throw ImportError(description: "no layers.N.dec_attn.qkv_net.weight: no layers") }
        let inner = try shape("layers.0.pos_ff.CoreNet.0.weight")
        var config = ModelConfig(
            kind: .transformerXL, layers: layers, modelWidth: embedding[1], heads: bias[0], headSize: bias[1],
            innerWidth: inner.first ?? 0, vocabularySize: embedding[0], segmentLength: segmentLength,
            memoryLength: memoryLength)
        config.dropout = 0
        try config.validate()
        if let output = stateDict.tensors["crit.out_layers.0.weight"],
            output.values != stateDict.tensors["word_emb.emb_layers.0.weight"]?.values
        {
            throw ImportError(
                description: "crit.out_layers.0.weight differs from the embedding: Cadenza's Transformer-XL ties "
                    + "them (train with --tie_weight)")
        }
        var weights = stateDict
        for name in derivedNames { weights.tensors[name] = nil }
        // Building the model once checks every name and shape it reads.
        let model = try TransformerXL(config: config, checkpoint: weights)
        let known = Set(model.parameters.namedTensors().map(\.name))
        let unknown = weights.tensors.keys.filter { !known.contains($0) }.sorted()
        guard unknown.isEmpty else {
            throw ImportError(
                description: "entries Cadenza's Transformer-XL does not have: "
                    + unknown.prefix(4).joined(separator: ", ")
                    + (unknown.count > 4 ? " and \(unknown.count - 4) more" : ""))
        }
        return (config, weights)
    }

    /// `weights` (a Cadenza Transformer-XL's) as the authors' `state_dict()` holds them, so that
    /// `load_state_dict` takes them strictly: with the tied output weight under its own name too,
    /// and the sinusoids' frequencies `1 / 10000^(2i / d_model)`.
    public static func stateDict(of weights: SafetensorsFile, config: ModelConfig) throws -> SafetensorsFile {
        var out = weights
        out.tensors["crit.out_layers.0.weight"] = try weights.tensor("word_emb.emb_layers.0.weight")
        let width = config.modelWidth
        let frequencies = Tensor(zeros: [width / 2])
        for i in 0..<(width / 2) {
            frequencies.pointer[i] = Float(1 / pow(10_000, Double(2 * i) / Double(width)))
        }
        out.tensors["pos_emb.inv_freq"] = frequencies
        return out
    }

    /// The authors' `train.py` arguments that build the same model (`MemTransformerLM`), as JSON.
    public static func arguments(of config: ModelConfig) -> String {
        """
        {
          "n_token": \(config.vocabularySize),
          "n_layer": \(config.layers),
          "n_head": \(config.heads),
          "d_model": \(config.modelWidth),
          "d_head": \(config.headSize),
          "d_inner": \(config.innerWidth),
          "d_embed": \(config.modelWidth),
          "div_val": 1,
          "tie_weight": true,
          "pre_lnorm": false,
          "attn_type": 0,
          "adaptive": false,
          "tgt_len": \(config.segmentLength),
          "mem_len": \(config.memoryLength),
          "ext_len": 0,
          "same_length": \(config.sameLength),
          "clamp_len": \(config.clampLength),
          "dropout": \(config.dropout),
          "dropatt": \(config.attentionDropout)
        }

        """
    }

    /// `config` with what the authors' `train.py` arguments (`arguments`, JSON as
    /// `arguments(of:)` writes it) say and the weights do not: segment and memory lengths,
    /// dropouts, `clamp_len`, `same_length`. Sizes they state must be the weights' own.
    public static func applying(arguments: Data, to config: ModelConfig) throws -> ModelConfig {
        guard let json = try? JSONSerialization.jsonObject(with: arguments) as? [String: Any] else {
            throw ImportError(description: "the arguments are not a JSON object")
        }
        var out = config
        func number(_ key: String) -> Double? { (json[key] as? NSNumber)?.doubleValue }
        for (key, size) in [
            ("n_token", config.vocabularySize), ("n_layer", config.layers), ("n_head", config.heads),
            ("d_model", config.modelWidth), ("d_head", config.headSize), ("d_inner", config.innerWidth),
        ] {
            if let stated = number(key), Int(stated) != size {
                throw ImportError(description: "the arguments say \(key) \(Int(stated)), the weights \(size)")
            }
        }
        if let v = number("tgt_len") { out.segmentLength = Int(v); out.positions = Int(v) }
        if let v = number("mem_len") { out.memoryLength = Int(v) }
        if let v = number("clamp_len") { out.clampLength = Int(v) }
        if let v = number("dropout") { out.dropout = Float(v) }
        if let v = number("dropatt") { out.attentionDropout = Float(v) }
        if let v = json["same_length"] as? Bool { out.sameLength = v }
        try out.validate()
        return out
    }
}
