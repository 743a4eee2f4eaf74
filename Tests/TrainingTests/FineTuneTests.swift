import Foundation
import Models
import Tensor
import Testing
@testable import Training

/// Fine-tuning (`cadenza train --init-from`): a new run that starts from a trained model's
/// weights rather than from its seed.
@Suite struct FineTuneTests {
    /// A tiny model trained for a few updates, and its weights as a checkpoint would hold them.
    func trained(_ kind: ModelKind) throws -> (model: LanguageModel, weights: SafetensorsFile) {
        let t = try Trainer(
            run: Fixtures.temporaryFolder("base\(kind)"), modelConfig: Fixtures.tinyConfig(kind),
            tokenizer: Fixtures.tokenizer, options: Fixtures.options(kind: kind, steps: 4), data: Fixtures.data())
        _ = try t.train()
        return (t.model, t.model.checkpoint())
    }

    @Test(arguments: [ModelKind.transformerXL, .gpt2])
    func theRunStartsFromTheGivenWeightsAndRecordsWhere(kind: ModelKind) throws {
        let base = try trained(kind)
        var options = Fixtures.options(kind: kind, steps: 3)
        options.seed = 2  // a seed that would draw other weights
        options.initializedFrom = "/models/base"
        let run = Fixtures.temporaryFolder("tune\(kind)")
        let tuned = try Trainer(
            run: run, modelConfig: Fixtures.tinyConfig(kind), tokenizer: Fixtures.tokenizer,
            options: options, data: Fixtures.data(seed: 11), initialWeights: base.weights)
        #expect(
            Fixtures.weights(tuned.model) == Fixtures.weights(base.model), "before the first update: the base model")
        #expect(tuned.state.step == 0)
        let summary = try tuned.train()
        #expect(summary.steps == 3)
        #expect(Fixtures.weights(tuned.model) != Fixtures.weights(base.model), "updates move the weights")
        let checkpoint = try Checkpoint.read(Checkpoint.locate(run.path))
        #expect(checkpoint.options.initializedFrom == "/models/base")
        // A fine-tuned run resumes like any other.
        #expect(try Trainer(resuming: checkpoint, run: run, data: Fixtures.data(seed: 11)).state.step == 3)
    }

    @Test func weightsOfAnotherModelAreAClearError() throws {
        let gpt2 = try trained(.gpt2)
        var options = Fixtures.options(kind: .transformerXL, steps: 1)
        options.initializedFrom = "/models/gpt2"
        let run = Fixtures.temporaryFolder("mismatch").appendingPathComponent("run")
        #expect {
            _ = try Trainer(
                run: run, modelConfig: Fixtures.tinyConfig(.transformerXL),
                tokenizer: Fixtures.tokenizer, options: options, data: Fixtures.data(), initialWeights: gpt2.weights)
        } throws: { error in
            guard case let TrainingError.invalidOption(name, value, _) = error else { return false }
            return name == "init-from" && value == "/models/gpt2"
        }
        #expect(!FileManager.default.fileExists(atPath: run.path), "nothing is written for a refused start")
    }

    /// Checkpoints written before fine-tuning existed have no `initializedFrom` and still load.
    @Test func optionsWithoutTheFieldStillDecode() throws {
        var options = Fixtures.options(kind: .gpt2, steps: 1)
        options.initializedFrom = nil
        let json = try JSONEncoder().encode(options)
        #expect(!String(decoding: json, as: UTF8.self).contains("initializedFrom"))
        #expect(try JSONDecoder().decode(TrainingOptions.self, from: json) == options)
    }
}
