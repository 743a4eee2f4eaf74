import Testing
import Tensor
@testable import Models

/// Central finite differences of `loss` at `probes` entries of every tensor in `parameters`,
/// against `analytic`. Float32 losses, so the step is 2e-3 (small enough to rarely cross a ReLU
/// kink, large enough to stay above float32 rounding) and the tolerance loose
/// (absolute 1e-3 + 3% relative); a wrong backward is off by far more.
func checkGradients(
    _ parameters: some ParameterSet, analytic: some ParameterSet, probes: Int = 3,
    loss: () throws -> Float, sourceLocation: SourceLocation = #_sourceLocation
) rethrows {
    var g = SeededGenerator(seed: 11)
    let step: Float = 2e-3
    var checked = 0
    for ((name, t), (_, grad)) in zip(parameters.namedTensors(), analytic.namedTensors()) {
        // The probes include the entry with the largest analytic gradient.
        var indices = (0..<probes).map { _ in Int.random(in: 0..<t.count, using: &g) }
        indices.append((0..<t.count).max { abs(grad[$0]) < abs(grad[$1]) } ?? 0)
        for i in indices {
            let saved = t[i]
            t[i] = saved + step
            let up = try loss()
            t[i] = saved - step
            let down = try loss()
            t[i] = saved
            let numeric = (up - down) / (2 * step)
            let error = abs(numeric - grad[i])
            #expect(
                error <= 1e-3 + 0.03 * abs(numeric),
                "\(name)[\(i)]: analytic \(grad[i]), finite difference \(numeric)", sourceLocation: sourceLocation)
            checked += 1
        }
    }
    #expect(checked > 0, sourceLocation: sourceLocation)
}

@Test(arguments: [(false, -1), (true, 5)])
func transformerXLGradientsMatchFiniteDifferencesWithMemoryAndDropout(sameLength: Bool, clamp: Int) throws {
    var config = ModelConfig.tiny(.transformerXL, vocabularySize: 30)
    config.memoryLength = 20  // segments of 12: memory 12, then 20 rows
    config.dropout = 0.1
    config.attentionDropout = 0.1
    config.sameLength = sameLength
    config.clampLength = clamp
    let model = try TransformerXL(config: config, generator: SeededGenerator(seed: 8))
    sharpen(model.parameters, deviation: 0.1)
    let (B, T) = (2, 12)
    let stream = randomTokens(B * (3 * T + 1), vocabulary: 30, seed: 9)
    func segment(_ s: Int) -> (tokens: [Int32], targets: [Int32]) {
        let n = 3 * T + 1
        var x: [Int32] = [], y: [Int32] = []
        for b in 0..<B {
            let first = b * n + s * T
            x += stream[first..<(first + T)]
            y += stream[(first + 1)..<(first + T + 1)]
        }
        return (x, y)
    }
    var dropout = DropoutSource.training(SeededGenerator(seed: 10))
    var memory = model.emptyMemory(batch: B)
    for s in 0..<2 {
        let (x, y) = segment(s)
        _ = try model.forward(tokens: x, targets: y, batch: B, memory: &memory, dropout: &dropout)
    }
    #expect(memory.rowsHeld == 20)
    let (x, y) = segment(2)
    let masks = dropout  // the same masks for every evaluation
    func loss() throws -> Float {
        var m = memory, d = masks
        return try model.forward(tokens: x, targets: y, batch: B, memory: &m, dropout: &d).loss
    }
    var m = memory, d = masks
    let pass = try model.forward(tokens: x, targets: y, batch: B, memory: &m, dropout: &d)
    let gradients = model.parameters.zerosLike()
    model.backward(pass, gradients: gradients)
    try checkGradients(model.parameters, analytic: gradients, loss: loss)
}

@Test func gpt2GradientsMatchFiniteDifferencesWithDropout() throws {
    var config = ModelConfig.tiny(.gpt2, vocabularySize: 30)
    config.dropout = 0.1
    config.attentionDropout = 0.1
    let model = try GPT2(config: config, generator: SeededGenerator(seed: 12))
    sharpen(model.parameters, deviation: 0.1)
    let (B, T) = (2, 16)
    let tokens = randomTokens(B * T, vocabulary: 30, seed: 13), targets = randomTokens(B * T, vocabulary: 30, seed: 14)
    let masks = DropoutSource.training(SeededGenerator(seed: 15))
    func loss() throws -> Float {
        var d = masks
        return try model.forward(tokens: tokens, targets: targets, batch: B, dropout: &d).loss
    }
    var d = masks
    let pass = try model.forward(tokens: tokens, targets: targets, batch: B, dropout: &d)
    let gradients = model.parameters.zerosLike()
    model.backward(pass, gradients: gradients)
    try checkGradients(model.parameters, analytic: gradients, loss: loss)
}
