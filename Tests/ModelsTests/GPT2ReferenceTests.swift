import Foundation
import Testing
import Tensor
@testable import Models

private let directory = referenceDirectory("gpt2-tiny")

@Test(.enabled(if: directory != nil, "../shared/data/reference/gpt2-tiny is absent"))
func gpt2MatchesHuggingFaceLogProbabilitiesLossAndEveryGradient() throws {
    let dir = try #require(directory)
    let config = ModelConfig(
        kind: .gpt2, layers: 2, modelWidth: 16, heads: 2, headSize: 8, innerWidth: 64,
        vocabularySize: 40, segmentLength: 9, memoryLength: 0, positions: 12)
    let model = try GPT2(config: config, checkpoint: SafetensorsFile(contentsOf: dir + "/model.safetensors"))
    let expected = try SafetensorsFile(contentsOf: dir + "/expected.safetensors")
    let rows = try #require(try jsonObject(dir + "/tokens.json")["tokens"] as? [[Int]]).map { $0.map(Int32.init) }
    let tokens = rows.flatMap { $0.prefix(9) }, targets = rows.flatMap { $0.dropFirst() }
    var dropout = DropoutSource.evaluation
    let pass = try model.forward(tokens: tokens, targets: targets, batch: 2, dropout: &dropout)
    expectClose(pass.logProbabilities.values, try expected.tensor("logp", shape: [2, 9, 40]).values, "logp")
    expectClose([pass.loss], try expected.tensor("loss").values, "loss")
    let gradients = model.parameters.zerosLike()
    model.backward(pass, gradients: gradients)
    for (name, g) in gradients.namedTensors() {
        expectClose(
            g.values, try expected.tensor("grad." + name, shape: g.shape).values,
            absolute: 1e-4, relative: 1e-3, "grad \(name)")
    }
}
