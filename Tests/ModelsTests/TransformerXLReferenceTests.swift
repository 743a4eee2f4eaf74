import Basics
import Foundation
import Testing
import Tensor
@testable import Models

private let directory = referenceDirectory("transformer-xl-tiny")

/// The reference config.json as a Cadenza config.
private func referenceConfig() -> ModelConfig {
    ModelConfig(
        kind: .transformerXL, layers: 2, modelWidth: 16, heads: 2, headSize: 8, innerWidth: 24,
        vocabularySize: 40, segmentLength: 7, memoryLength: 5)
}

/// Inputs and targets of segment `s` (tokens [7s, 7s+7) predicting [7s+1, 7s+8)), [2, 7] row-major.
private func segment(_ s: Int, streams: [[Int32]]) -> (tokens: [Int32], targets: [Int32]) {
    (streams.flatMap { Array($0[(7 * s)..<(7 * s + 7)]) }, streams.flatMap { Array($0[(7 * s + 1)..<(7 * s + 8)]) })
}

@Test(.enabled(if: directory != nil, "../shared/data/reference/transformer-xl-tiny is absent"))
func transformerXLMatchesTheAuthorsCodeOnEverySegmentMemoryAndGradient() throws {
    let dir = try #require(directory)
    let model = try TransformerXL(
        config: referenceConfig(),
        checkpoint: SafetensorsFile(contentsOf: dir + "/model.safetensors"))
    let expected = try SafetensorsFile(contentsOf: dir + "/expected.safetensors")
    let streams = try #require(try jsonObject(dir + "/tokens.json")["streams"] as? [[Int]]).map { $0.map(Int32.init) }
    var memory = model.emptyMemory(batch: 2)
    var dropout = DropoutSource.evaluation
    for s in 0..<3 {
        let (tokens, targets) = segment(s, streams: streams)
        let result = try model.forward(tokens: tokens, targets: targets, batch: 2, memory: &memory, dropout: &dropout)
        expectClose(
            result.logProbabilities.values, try expected.tensor("segment\(s).logp", shape: [2, 7, 40]).values,
            "segment \(s) logp")
        expectClose([result.loss], try expected.tensor("segment\(s).loss").values, "segment \(s) loss")
        #expect(memory.rowsHeld == 5)
        for l in 0..<2 {
            expectClose(
                memory.layers[l].values, try expected.tensor("segment\(s).mem\(l)", shape: [2, 5, 16]).values,
                "segment \(s) mem\(l)")
        }
        // mem2, the last layer's output, is kept by the reference but read by no layer.
        expectClose(rows(result.output, 2..<7), try expected.tensor("segment\(s).mem2").values, "segment \(s) mem2")
        if s == 2 {
            let gradients = model.parameters.zerosLike()
            model.backward(result, gradients: gradients)
            for (name, g) in gradients.namedTensors() {
                expectClose(
                    g.values, try expected.tensor("grad." + name, shape: g.shape).values,
                    absolute: 1e-4, relative: 1e-3, "grad \(name)")
            }
        }
    }
}

@Test(.enabled(if: directory != nil, "../shared/data/reference/transformer-xl-tiny is absent"))
func transformerXLMatchesTheAuthorsCodeWithALongerEvaluationMemory() throws {
    let dir = try #require(directory)
    let model = try TransformerXL(
        config: referenceConfig(),
        checkpoint: SafetensorsFile(contentsOf: dir + "/model.safetensors"))
    let expected = try SafetensorsFile(contentsOf: dir + "/expected.safetensors")
    let streams = try #require(try jsonObject(dir + "/tokens.json")["streams"] as? [[Int]]).map { $0.map(Int32.init) }
    var memory = model.emptyMemory(batch: 2, memoryLength: 12)
    var dropout = DropoutSource.evaluation
    for s in 0..<3 {
        let (tokens, targets) = segment(s, streams: streams)
        let result = try model.forward(tokens: tokens, targets: targets, batch: 2, memory: &memory, dropout: &dropout)
        expectClose(
            result.logProbabilities.values,
            try expected.tensor("eval_mem12.segment\(s).logp", shape: [2, 7, 40]).values, "eval segment \(s) logp")
    }
    #expect(memory.rowsHeld == 12)
}

/// The authors' state dict (the reference file is one, saved as safetensors) imports with the
/// sizes read off its shapes, and the imported model's log-probabilities are PyTorch's.
@Test(.enabled(if: directory != nil, "../shared/data/reference/transformer-xl-tiny is absent"))
func theAuthorsStateDictImportsWithItsSizesAndPyTorchsLogProbabilities() throws {
    let dir = try #require(directory)
    var stateDict = try SafetensorsFile(contentsOf: dir + "/model.safetensors")
    // What torch's state_dict() also holds: the sinusoids' buffer and the tied output weight.
    stateDict.tensors["pos_emb.inv_freq"] = Tensor(zeros: [8])
    stateDict.tensors["crit.out_layers.0.weight"] = stateDict.tensors["word_emb.emb_layers.0.weight"]
    let (config, weights) = try AuthorsStateDict.configuration(of: stateDict, segmentLength: 7, memoryLength: 5)
    #expect(config == referenceConfig())
    #expect(weights.tensors["pos_emb.inv_freq"] == nil && weights.tensors["crit.out_layers.0.weight"] == nil)
    let model = try TransformerXL(config: config, checkpoint: weights)
    let expected = try SafetensorsFile(contentsOf: dir + "/expected.safetensors")
    let streams = try #require(try jsonObject(dir + "/tokens.json")["streams"] as? [[Int]]).map { $0.map(Int32.init) }
    var memory = model.emptyMemory(batch: 2)
    var dropout = DropoutSource.evaluation
    let (tokens, targets) = segment(0, streams: streams)
    let result = try model.forward(tokens: tokens, targets: targets, batch: 2, memory: &memory, dropout: &dropout)
    let reference = try expected.tensor("segment0.logp", shape: [2, 7, 40]).values
    #expect(zip(result.logProbabilities.values, reference).allSatisfy { abs($0 - $1) <= 1e-4 })

    // What Cadenza's Transformer-XL does not have is refused, by name.
    var untied = stateDict
    untied.tensors["crit.out_layers.0.weight"] = Tensor(zeros: [40, 16])
    var adaptive = stateDict
    adaptive.tensors["crit.out_projs.0"] = Tensor(zeros: [16, 16])
    var missing = stateDict
    missing.tensors["layers.1.pos_ff.CoreNet.3.bias"] = nil
    for (bad, reason) in [(untied, "ties"), (adaptive, "crit.out_projs.0"), (missing, "CoreNet.3.bias")] {
        #expect {
            _ = try AuthorsStateDict.configuration(of: bad, segmentLength: 7, memoryLength: 5)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }
}

/// Whether PyTorch and Hugging Face's port of the authors' Transformer-XL are importable
/// (`.ci/run` installs them; the test skips without).
private let pyTorchPort: Bool =
    (try? Subprocess.run(
        "python3", ["-c", "import torch, safetensors, transformers.models.deprecated.transfo_xl.modeling_transfo_xl"]
    ).status) == 0

/// Issue 20's round trip through PyTorch: the reference model, exported as `cadenza export --to
/// txl-pytorch` writes it, is loaded strictly by PyTorch code of the authors' model (Hugging
/// Face's port in CI; with `CADENZA_TXL_AUTHORS` naming the `pytorch/` folder of
/// kimiyoung/transformer-xl, the authors' own code too), which reads the three segments with
/// memory 5 and again with memory 12: its log-probabilities equal Cadenza's within 1e-4, and the
/// state dict it saves imports back to the same weights, bit for bit.
@Test(
    .enabled(if: directory != nil, "../shared/data/reference/transformer-xl-tiny is absent"),
    .enabled(if: pyTorchPort, "needs python3 with torch and transformers 4.44 (pip install torch transformers==4.44.2)")
)
func aModelExportedToPyTorchRunsThereAsHereAndImportsBackUnchanged() throws {
    let dir = try #require(directory)
    let config = referenceConfig()
    let weights = try SafetensorsFile(contentsOf: dir + "/model.safetensors")
    let model = try TransformerXL(config: config, checkpoint: weights)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("txl-pytorch-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let exported = folder.appendingPathComponent("exported.safetensors").path
    try Data(AuthorsStateDict.stateDict(of: model.checkpoint(), config: config).encoded())
        .write(to: URL(fileURLWithPath: exported))
    try Data(AuthorsStateDict.arguments(of: config).utf8).write(to: folder.appendingPathComponent("args.json"))

    // Cadenza's own log-probabilities, memory carried from segment to segment.
    let streams = try #require(try jsonObject(dir + "/tokens.json")["streams"] as? [[Int]]).map { $0.map(Int32.init) }
    var ours: [String: [Float]] = [:]
    for (memoryLength, prefix) in [(5, ""), (12, "eval_mem12.")] {
        var memory = model.emptyMemory(batch: 2, memoryLength: memoryLength)
        var dropout = DropoutSource.evaluation
        for s in 0..<3 {
            let (tokens, targets) = segment(s, streams: streams)
            let pass = try model.forward(
                tokens: tokens, targets: targets, batch: 2, memory: &memory, dropout: &dropout, saveForBackward: false)
            ours["\(prefix)segment\(s).logp"] = pass.logProbabilities.values
        }
    }

    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
        "PyTorch/txl_pytorch.py")
    var implementations: [(String, [String])] = [("Hugging Face's port", [])]
    if let authors = ProcessInfo.processInfo.environment["CADENZA_TXL_AUTHORS"] {
        implementations.append(("the authors' code", ["--authors", authors]))
    }
    for (name, extra) in implementations {
        let logp = folder.appendingPathComponent("logp.safetensors").path
        let back = folder.appendingPathComponent("back.safetensors").path
        let run = try Subprocess.run(
            "python3",
            [
                script.path, "--state-dict", exported, "--args", folder.appendingPathComponent("args.json").path,
                "--tokens", dir + "/tokens.json", "--segment-length", "7", "--segments", "3", "--eval-memory", "12",
                "--logp", logp, "--state-dict-out", back,
            ] + extra)
        try #require(run.status == 0, "\(name): \(String(decoding: run.errors, as: UTF8.self).suffix(2000))")
        let theirs = try SafetensorsFile(contentsOf: logp)
        #expect(Set(theirs.tensors.keys) == Set(ours.keys), "\(name)")
        for (key, values) in ours {
            let other = try theirs.tensor(key, shape: [2, 7, 40]).values
            let worst = zip(values, other).map { abs($0 - $1) }.max() ?? .infinity
            #expect(worst <= 1e-4, "\(name), \(key): log-probabilities differ by \(worst)")
        }
        let (imported, importedWeights) = try AuthorsStateDict.configuration(
            of: SafetensorsFile(contentsOf: back), segmentLength: 7, memoryLength: 5)
        #expect(imported == config, "\(name)")
        #expect(Set(importedWeights.tensors.keys) == Set(weights.tensors.keys), "\(name)")
        for (key, tensor) in weights.tensors {
            #expect(importedWeights.tensors[key]?.values == tensor.values, "\(name): \(key) changed on the way back")
        }
    }
}
