import Foundation
import Models
import Testing
@testable import Training

/// A small model really learns: on a generated corpus with structure (positions cycle,
/// velocity and duration follow from pitch, pitches walk a scale), the validation loss falls
/// far below the uniform baseline ln(V).
@Suite struct LearningTests {
    @Test(arguments: [ModelKind.transformerXL, .gpt2])
    func tinyModelLearnsAGeneratedCorpus(kind: ModelKind) throws {
        var config = ModelConfig.tiny(kind, vocabularySize: Fixtures.tokenizer.vocabulary.count)
        config.segmentLength = 32
        if kind == .gpt2 { config.positions = 32 }
        var options = Fixtures.options(kind: kind, steps: 150, batch: 4, augmentation: .none, learningRate: 3e-3)
        options.warmupSteps = 10
        options.evalEvery = 50
        let data = TrainingData(
            train: Fixtures.patternPieces(count: 20, length: 200, seed: 3),
            validation: Fixtures.patternPieces(count: 4, length: 200, seed: 99).flatMap { $0 },
            fingerprint: "learn")
        let run = Fixtures.temporaryFolder("learn\(kind)")
        let trainer = try Trainer(
            run: run, modelConfig: config, tokenizer: Fixtures.tokenizer, options: options, data: data)
        let before = try trainer.validate()
        let summary = try trainer.train()
        let uniform = log(Double(config.vocabularySize))
        let after = try #require(summary.validation)
        #expect(
            abs(before.perToken - uniform) < 0.5, "an untrained model is near uniform: \(before.perToken) vs \(uniform)"
        )
        #expect(
            after.perToken < 0.35 * uniform, "validation loss \(after.perToken) should be far below ln(V) = \(uniform)")
        // The metrics log has one train line per update and the validation lines.
        let records = try MetricsLog(run: run).read()
        #expect(records.filter { $0.kind == "train" }.count == 150)
        #expect(records.filter { $0.kind == "validation" }.map(\.step) == [50, 100, 150])
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("best/model.safetensors").path))
    }
}
