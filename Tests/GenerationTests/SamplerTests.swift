import Foundation
import Testing
import Tensor
@testable import Generation

/// Logits whose softmax is exactly the given probabilities.
private func logits(_ p: [Double]) -> [Float] { p.map { Float(log($0)) } }

private func expectClose(
    _ a: [Double], _ b: [Double], tolerance: Double = 1e-6,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(a.count == b.count, sourceLocation: sourceLocation)
    for (x, y) in zip(a, b) { #expect(abs(x - y) < tolerance, "\(a) vs \(b)", sourceLocation: sourceLocation) }
}

private let p = [0.5, 0.3, 0.15, 0.05]

@Test func plainSamplingKeepsTheModelDistribution() throws {
    expectClose(try Sampler().distribution(logits: logits(p)), p)
}

@Test func topKKeepsTheKMostLikelyAndRenormalises() throws {
    // 0.5 / 0.8 = 0.625, 0.3 / 0.8 = 0.375.
    expectClose(try Sampler(topK: 2).distribution(logits: logits(p)), [0.625, 0.375, 0, 0])
    expectClose(try Sampler(topK: 1).distribution(logits: logits(p)), [1, 0, 0, 0])
    expectClose(try Sampler(topK: 10).distribution(logits: logits(p)), p)
}

@Test func topPKeepsTheSmallestNucleusReachingP() throws {
    // Cumulative 0.5, 0.8, 0.95, 1: p = 0.8 stops at two tokens, 0.81 needs three.
    expectClose(try Sampler(topP: 0.8).distribution(logits: logits(p)), [0.625, 0.375, 0, 0])
    expectClose(try Sampler(topP: 0.81).distribution(logits: logits(p)), [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0])
    // p below the top probability still keeps the most likely token.
    expectClose(try Sampler(topP: 0.1).distribution(logits: logits(p)), [1, 0, 0, 0])
    // top-k first, then top-p inside it: k = 3 leaves 0.5, 0.3, 0.15 (sum 0.95); p = 0.6 of
    // 0.95 is 0.57, reached at the second token.
    expectClose(try Sampler(topK: 3, topP: 0.6).distribution(logits: logits(p)), [0.625, 0.375, 0, 0])
}

@Test func temperatureRaisesProbabilitiesToThePowerOneOverT() throws {
    // T = 0.5 squares the probabilities: 0.25, 0.09, 0.0225, 0.0025, over their sum 0.365.
    expectClose(
        try Sampler(temperature: 0.5).distribution(logits: logits(p)),
        [0.25 / 0.365, 0.09 / 0.365, 0.0225 / 0.365, 0.0025 / 0.365])
    // T = 0 is greedy.
    expectClose(try Sampler(temperature: 0).distribution(logits: logits(p)), [1, 0, 0, 0])
}

@Test func maskAndMinusInfinityForbidTokens() throws {
    expectClose(
        try Sampler().distribution(logits: logits(p), mask: [false, true, true, false]),
        [0, 0.3 / 0.45, 0.15 / 0.45, 0])
    var l = logits(p); l[0] = -.infinity
    expectClose(try Sampler().distribution(logits: l), [0, 0.6, 0.3, 0.1])
    #expect(throws: SamplerError.noAllowedToken) {
        try Sampler().distribution(logits: logits(p), mask: [false, false, false, false])
    }
}

@Test func badSettingsAndLogitsGiveTypedErrors() {
    #expect(throws: SamplerError.invalidTemperature(-1)) { try Sampler(temperature: -1) }
    #expect(throws: SamplerError.invalidTopK(-3)) { try Sampler(topK: -3) }
    #expect(throws: SamplerError.invalidTopP(0)) { try Sampler(topP: 0) }
    #expect(throws: SamplerError.invalidTopP(1.5)) { try Sampler(topP: 1.5) }
    #expect(throws: SamplerError.invalidLogit(index: 1)) { try Sampler().distribution(logits: [0, .nan]) }
    #expect(throws: SamplerError.maskLengthMismatch(logits: 2, mask: 1)) {
        try Sampler().distribution(logits: [0, 0], mask: [true])
    }
}

@Test func drawsFollowTheDistribution() throws {
    let sampler = try Sampler(topK: 3)
    var generator = SeededGenerator(seed: 7)
    var counts = [0, 0, 0, 0]
    let n = 40_000
    for _ in 0..<n { counts[try sampler.sample(logits: logits(p), using: &generator)] += 1 }
    // Expected 0.5/0.95, 0.3/0.95, 0.15/0.95, 0; the standard error at n = 40,000 is below 0.0025.
    let expected = [0.5 / 0.95, 0.3 / 0.95, 0.15 / 0.95, 0]
    for k in 0..<4 { #expect(abs(Double(counts[k]) / Double(n) - expected[k]) < 0.01) }
    #expect(counts[3] == 0)
}

@Test func theSameSeedGivesTheSameTokens() throws {
    let sampler = try Sampler(temperature: 1.2, topP: 0.95)
    func draw(seed: UInt64) throws -> [Int] {
        var generator = SeededGenerator(seed: seed)
        var base = SeededGenerator(seed: 99)
        return try (0..<200).map { _ in
            let l = (0..<50).map { _ in base.nextNormal() * 2 }
            return try sampler.sample(logits: l, using: &generator)
        }
    }
    #expect(try draw(seed: 1) == draw(seed: 1))
    #expect(try draw(seed: 1) != draw(seed: 2))
}
