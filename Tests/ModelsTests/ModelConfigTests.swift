import Basics
import Foundation
import Testing
import Tensor
@testable import Models

@Test(arguments: ModelKind.allCases)
func presetsHaveTheIssueSizesAndCountTheirParameters(kind: ModelKind) throws {
    let small = try ModelConfig.preset(named: "small", kind: kind, vocabularySize: 300)
    #expect((small.layers, small.modelWidth, small.heads, small.headSize, small.innerWidth) == (6, 256, 8, 32, 1024))
    #expect(small.segmentLength == 128)
    #expect(small.memoryLength == (kind == .transformerXL ? 128 : 0))
    let tiny = try ModelConfig.preset(named: "tiny", kind: kind, vocabularySize: 300)
    #expect((tiny.layers, tiny.modelWidth) == (2, 64))
    // The formula agrees with the tensors a model actually allocates.
    let count =
        kind == .transformerXL
        ? try TransformerXL(config: tiny, generator: SeededGenerator(seed: 1)).parameters.scalarCount
        : try GPT2(config: tiny, generator: SeededGenerator(seed: 1)).parameters.scalarCount
    #expect(count == tiny.parameterCount)
}

@Test func configJSONRoundTripsWithTheReferenceKeyNames() throws {
    var config = ModelConfig.small(.transformerXL, vocabularySize: 321)
    config.sameLength = true
    config.clampLength = 400
    let json = config.json()
    #expect(json.contains("\"n_layer\" : 6") && json.contains("\"mem_len\" : 128") && json.contains("\"dropatt\""))
    #expect(try ModelConfig.decode(json: Data(json.utf8)) == config)
    // The reference tiny config's model keys read with the defaults filled in.
    let reference =
        #"{"kind": "transformer-xl", "n_token": 40, "n_layer": 2, "n_head": 2, "d_model": 16, "d_head": 8, "#
        + #""d_inner": 24, "tgt_len": 7, "mem_len": 5}"#
    let decoded = try ModelConfig.decode(json: Data(reference.utf8))
    #expect(decoded.memoryLength == 5 && decoded.clampLength == -1 && decoded.dropout == 0)
    // A key that is not a model field (a training setting, a misspelling) is refused by name.
    let extra = reference.replacingOccurrences(of: "}", with: #", "dropuot": 0.1}"#)
    let error = #expect(throws: UnknownKeyError.self) { try ModelConfig.decode(json: Data(extra.utf8)) }
    #expect(error?.key == "dropuot" && error?.suggestion == "dropout" && error?.source == "model config")
}

@Test func invalidConfigsAreRejectedWithTheFieldNamed() throws {
    var config = ModelConfig.tiny(.gpt2, vocabularySize: 30)
    config.headSize = 10
    #expect(throws: ModelConfigError.self) { try config.validate() }
    do { try config.validate() } catch { #expect("\(error)".contains("n_head * d_head")) }
    #expect(throws: ModelConfigError.unknownPreset(name: "huge")) {
        try ModelConfig.preset(named: "huge", kind: .gpt2, vocabularySize: 30)
    }
    #expect(throws: ModelConfigError.self) { try ModelConfig.decode(json: Data("{\"n_layer\": 2}".utf8)) }
    var odd = ModelConfig.tiny(.transformerXL, vocabularySize: 30)
    odd.modelWidth = 63
    #expect(throws: ModelConfigError.invalid(field: "d_model", value: "63", rule: "must be even and 2...16384")) {
        try TransformerXL(config: odd, generator: SeededGenerator(seed: 1))
    }
}

@Test func badInputsAndCheckpointsGiveTypedErrors() throws {
    let model = try tinyTransformerXL(memory: 4)
    var memory = model.emptyMemory(batch: 2)
    var dropout = DropoutSource.evaluation
    #expect(throws: ModelInputError.tokenOutOfRange(token: 30, index: 1, vocabulary: 30)) {
        try model.forward(tokens: [1, 30], batch: 2, memory: &memory, dropout: &dropout)
    }
    #expect(throws: ModelInputError.raggedBatch(count: 3, batch: 2)) {
        try model.forward(tokens: [1, 2, 3], batch: 2, memory: &memory, dropout: &dropout)
    }
    var wrong = model.emptyMemory(batch: 3)
    #expect(throws: ModelInputError.self) {
        try model.forward(tokens: [1, 2], batch: 2, memory: &wrong, dropout: &dropout)
    }
    // A checkpoint of another size names the tensor and both shapes.
    let other = try TransformerXL(
        config: .tiny(.transformerXL, vocabularySize: 31), generator: SeededGenerator(seed: 2))
    #expect(
        throws: SafetensorsError.shapeMismatch(
            name: "word_emb.emb_layers.0.weight", expected: [30, 64], found: [31, 64])
    ) {
        try TransformerXL(config: model.config, checkpoint: other.checkpoint())
    }
    // A config with fewer layers than its weights is refused, not loaded as a smaller model.
    var fewer = model.config
    fewer.layers = 1
    #expect(throws: SafetensorsError.self) { try TransformerXL(config: fewer, checkpoint: model.checkpoint()) }
    do {
        _ = try TransformerXL(config: fewer, checkpoint: model.checkpoint())
    } catch let SafetensorsError.unexpectedTensors(names) {
        #expect(names.allSatisfy { $0.hasPrefix("layers.1.") } && !names.isEmpty, "\(names)")
    }
    let gpt = try GPT2(config: .tiny(.gpt2, vocabularySize: 30), generator: SeededGenerator(seed: 1))
    var shallow = gpt.config
    shallow.layers = 1
    #expect(throws: SafetensorsError.self) { try GPT2(config: shallow, checkpoint: gpt.checkpoint()) }
    // A model trained without memory steps with its segment length of memory by default.
    var memoryless = model.config
    memoryless.memoryLength = 0
    let stepper = try TransformerXLStepper(model: TransformerXL(config: memoryless, checkpoint: model.checkpoint()))
    #expect(stepper.memoryLength == memoryless.segmentLength)
}

@Test func checkpointsRoundTripWithTheConfigAndSameSeedsGiveSameModels() throws {
    let model = try tinyTransformerXL(memory: 8)
    let file = try SafetensorsFile(bytes: model.checkpoint().encoded())
    let config = try ModelConfig.decode(json: Data(try #require(file.metadata["config"]).utf8))
    #expect(config == model.config)
    let loaded = try TransformerXL(config: config, checkpoint: file)
    for ((name, a), (_, b)) in zip(model.parameters.namedTensors(), loaded.parameters.namedTensors()) {
        #expect(a.values == b.values, "\(name)")
    }
    #expect(Set(file.tensors.keys).contains("layers.1.pos_ff.CoreNet.3.bias"))
    let gpt = try GPT2(config: .tiny(.gpt2, vocabularySize: 30), generator: SeededGenerator(seed: 3))
    let again = try GPT2(config: .tiny(.gpt2, vocabularySize: 30), generator: SeededGenerator(seed: 3))
    #expect(gpt.parameters.layers[1].qkv.values == again.parameters.layers[1].qkv.values)
    // Spec init: residual projections at 0.02 / sqrt(2L) = 0.01, LayerNorm gain exactly 1 for GPT-2.
    let projection = gpt.parameters.layers[0].feedForwardOut.values
    let deviation = (projection.map { $0 * $0 }.reduce(0, +) / Float(projection.count)).squareRoot()
    #expect(abs(deviation - 0.01) < 0.001)
    #expect(gpt.parameters.finalNorm.weight.values.allSatisfy { $0 == 1 })
}

/// `.zeros` draws nothing: every weight at the mean it is drawn around (LayerNorm gains 1 for
/// both models, Transformer-XL's drawn as N(1, 0.02)), so loading a checkpoint into it leaves
/// exactly the checkpoint's values.
@Test func unfilledModelsHoldTheMeansOfTheirInit() throws {
    let config = ModelConfig.tiny(.transformerXL, vocabularySize: 30)
    let model = try TransformerXL(config: config, weights: .zeros)
    #expect(model.parameters.embedding.values.allSatisfy { $0 == 0 })
    #expect(model.parameters.layers[0].attentionNorm.weight.values.allSatisfy { $0 == 1 })
    #expect(model.parameters.layers[0].attentionNorm.bias.values.allSatisfy { $0 == 0 })
    let gpt = try GPT2(config: .tiny(.gpt2, vocabularySize: 30), weights: .zeros)
    #expect(gpt.parameters.layers[1].qkv.values.allSatisfy { $0 == 0 })
    #expect(gpt.parameters.finalNorm.weight.values.allSatisfy { $0 == 1 })
    let drawn = try TransformerXL(config: config, generator: SeededGenerator(seed: 5))
    #expect(
        try TransformerXL(config: config, weights: .drawn(SeededGenerator(seed: 5))).parameters.embedding.values
            == drawn.parameters.embedding.values)
}
