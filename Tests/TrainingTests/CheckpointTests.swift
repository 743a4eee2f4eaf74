import Evaluation
import Corpus
import Basics
import Foundation
import Models
import REMI
import Tensor
import Testing
@testable import Training

@Suite(.serialized) struct CheckpointTests {
    func trainedRun(_ kind: ModelKind = .transformerXL, steps: Int = 3) throws -> URL {
        let run = Fixtures.temporaryFolder("run\(kind)\(UUID())")
        var options = Fixtures.options(kind: kind, steps: steps)
        options.saveEvery = 1
        _ = try Trainer(
            run: run, modelConfig: Fixtures.tinyConfig(kind), tokenizer: Fixtures.tokenizer,
            options: options, data: Fixtures.data()
        ).train()
        return run
    }

    @Test func checkpointHoldsEverythingAndReadsBack() throws {
        let run = try trainedRun()
        let folder = try Checkpoint.locate(run.path)
        #expect(folder.lastPathComponent == "latest")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(
            names == [
                "memory.safetensors", "model.json", "model.safetensors", "optimizer.safetensors",
                "state.json", "tokenizer.json", "vocab.json",
            ])
        let checkpoint = try Checkpoint.read(folder)
        #expect(checkpoint.state.step == 3 && checkpoint.modelConfig == Fixtures.tinyConfig(.transformerXL))
        #expect(checkpoint.tokenizer.vocabulary == Fixtures.tokenizer.vocabulary)
        let model = try checkpoint.loadModel()
        #expect(model.parameters.map(\.name).contains("r_w_bias"))
        // A finished run refuses a new start in the same folder.
        #expect(throws: TrainingError.runExists(path: run.path)) {
            try Trainer(
                run: run, modelConfig: Fixtures.tinyConfig(.transformerXL), tokenizer: Fixtures.tokenizer,
                options: Fixtures.options(kind: .transformerXL, steps: 3), data: Fixtures.data())
        }
    }

    /// Flips one bit in the middle of `file` and returns its new bytes.
    @discardableResult
    func damage(_ file: URL) throws -> Data {
        var bytes = try Data(contentsOf: file)
        bytes[bytes.count / 2] ^= 0x40
        try bytes.write(to: file)
        return bytes
    }

    /// Whether `error` says the checkpoint's `file` does not match its hash.
    func isHashMismatch(_ error: any Error, of file: String) -> Bool {
        guard case let TrainingError.corruptCheckpoint(_, reason) = error else { return false }
        return reason.contains(file) && reason.contains("hash")
    }

    @Test func truncatedOrCorruptedFilesAreCaught() throws {
        let run = try trainedRun()
        let folder = run.appendingPathComponent("latest")
        let model = folder.appendingPathComponent("model.safetensors")
        let bytes = try damage(model)
        #expect { try Checkpoint.read(folder) } throws: { isHashMismatch($0, of: "model.safetensors") }
        try bytes.prefix(1000).write(to: model)
        #expect { try Checkpoint.read(folder) } throws: { error in
            guard case let TrainingError.corruptCheckpoint(_, reason) = error else { return false }
            return reason.contains("truncated")
        }
        try Data("{ not json".utf8).write(to: folder.appendingPathComponent("state.json"))
        #expect { try Checkpoint.read(folder) } throws: { error in
            guard case TrainingError.corruptCheckpoint = error else { return false }
            return true
        }
        #expect { try Checkpoint.locate(Fixtures.temporaryFolder("notarun").path) } throws: { error in
            guard case TrainingError.corruptCheckpoint = error else { return false }
            return true
        }
    }

    /// Generation and evaluation check every file they read, but not the optimizer state: a
    /// damaged optimizer file stops a resume, not a use of the model.
    @Test func modelFilesLeaveOutOnlyTheOptimizerState() throws {
        let run = try trainedRun()
        let folder = run.appendingPathComponent("latest")
        try damage(folder.appendingPathComponent("optimizer.safetensors"))
        #expect { try Checkpoint.read(folder) } throws: { isHashMismatch($0, of: "optimizer.safetensors") }
        let checkpoint = try Checkpoint.read(folder, verifying: .modelFiles)
        #expect(try checkpoint.loadModel().parameters.count > 0)
        try damage(folder.appendingPathComponent("model.safetensors"))
        #expect { try Checkpoint.read(folder, verifying: .modelFiles) } throws: {
            isHashMismatch($0, of: "model.safetensors")
        }
    }

    @Test func anotherModelOrSettingsIsRefused() throws {
        let run = try trainedRun(.gpt2)
        let checkpoint = try Checkpoint.read(Checkpoint.locate(run.path))
        // A resume that changes a setting other than steps and intervals.
        var changed = checkpoint.options
        changed.learningRate *= 2
        #expect { try Trainer(resuming: checkpoint, run: run, options: changed, data: Fixtures.data()) } throws: {
            error in
            guard case TrainingError.incompatibleCheckpoint = error else { return false }
            return true
        }
        // Weights of another model (a Transformer-XL's safetensors in a GPT-2 checkpoint).
        let txlRun = try trainedRun(.transformerXL)
        let folder = run.appendingPathComponent("latest")
        try FileManager.default.removeItem(at: folder.appendingPathComponent("model.safetensors"))
        try FileManager.default.copyItem(
            at: txlRun.appendingPathComponent("latest/model.safetensors"),
            to: folder.appendingPathComponent("model.safetensors"))
        try rewriteManifest(folder)
        #expect { try Checkpoint.read(folder).loadModel() } throws: { error in
            guard case let TrainingError.incompatibleCheckpoint(_, reason) = error else { return false }
            return reason.contains("model.safetensors")
        }
        // A vocabulary that is not the model's.
        var config = TokenizerConfig()
        config.chords = false
        try Vocabulary(config: config).save(to: folder.appendingPathComponent("vocab.json"))
        try rewriteManifest(folder)
        #expect { try Checkpoint.read(folder) } throws: { error in
            guard case let TrainingError.incompatibleCheckpoint(_, reason) = error else { return false }
            return reason.contains("vocab.json")
        }
    }

    /// Recomputes the manifest after a deliberate edit, so the test reaches the later checks.
    func rewriteManifest(_ folder: URL) throws {
        let url = folder.appendingPathComponent("state.json")
        var state = try JSONDecoder().decode(Checkpoint.StateFile.self, from: Data(contentsOf: url))
        for name in state.manifest.keys {
            let bytes = try Data(contentsOf: folder.appendingPathComponent(name))
            state.manifest[name] = Checkpoint.ManifestEntry(bytes: bytes.count, fnv1a: FNV1a.hex(FNV1a.hash(bytes)))
        }
        try JSONEncoder().encode(state).write(to: url)
    }

    @Test func aFullDiskKeepsThePreviousCheckpoint() throws {
        let run = try trainedRun(steps: 2)
        let latest = run.appendingPathComponent("latest")
        let before = try Data(contentsOf: latest.appendingPathComponent("model.safetensors"))
        let checkpoint = try Checkpoint.read(latest)
        let model = try checkpoint.loadModel()
        model.parameters[0].tensor[0] += 1  // a different checkpoint, so a half-written one would show
        let optimizer = Adam(
            parameters: zip(model.parameters, model.gradients).map {
                OptimizedParameter(value: $0.0.tensor, gradient: $0.1.tensor)
            })
        for failing in ["model.safetensors", "optimizer.safetensors", "state.json"] {
            #expect {
                try Checkpoint.write(
                    name: "latest", run: run, model: model, optimizer: optimizer, memory: nil,
                    tokenizer: Fixtures.tokenizer, options: checkpoint.options, state: checkpoint.state,
                    writeFile: { data, url in
                        if url.lastPathComponent == failing { throw CocoaError(.fileWriteOutOfSpace) }
                        try data.write(to: url)
                    })
            } throws: { error in
                guard case let TrainingError.checkpointUnwritable(path, _) = error else { return false }
                return path == latest.path
            }
            #expect(try Data(contentsOf: latest.appendingPathComponent("model.safetensors")) == before)
            #expect(try Checkpoint.read(latest).state == checkpoint.state)
            #expect(!FileManager.default.fileExists(atPath: run.appendingPathComponent(".latest.partial").path))
        }
        // A run folder that cannot exist (under a regular file).
        let blocker = Fixtures.temporaryFolder().appendingPathComponent("file")
        try Data().write(to: blocker)
        #expect {
            try Checkpoint.write(
                name: "latest", run: blocker.appendingPathComponent("run"), model: model, optimizer: optimizer,
                memory: nil, tokenizer: Fixtures.tokenizer, options: checkpoint.options, state: checkpoint.state)
        } throws: { error in
            guard case TrainingError.checkpointUnwritable = error else { return false }
            return true
        }
    }

    @Test func nonFiniteLossStopsAndKeepsTheLastGoodCheckpoint() throws {
        let run = Fixtures.temporaryFolder()
        var options = Fixtures.options(kind: .transformerXL, steps: 50, learningRate: 1e30)
        options.warmupSteps = 0
        options.saveEvery = 1
        let trainer = try Trainer(
            run: run, modelConfig: Fixtures.tinyConfig(.transformerXL), tokenizer: Fixtures.tokenizer,
            options: options, data: Fixtures.data())
        #expect { try trainer.train() } throws: { error in
            guard case let TrainingError.nonFiniteLoss(step, _, kept) = error else { return false }
            return step >= 2 && kept == run.appendingPathComponent("latest").path
        }
        let checkpoint = try Checkpoint.read(Checkpoint.locate(run.path))
        #expect(checkpoint.state.step == trainer.state.step)
        let model = try checkpoint.loadModel()
        #expect(model.parameters.allSatisfy { $0.tensor.values.allSatisfy(\.isFinite) })
    }

    @Test func aSignalStopsBetweenStepsWithACheckpoint() throws {
        let run = Fixtures.temporaryFolder()
        let trainer = try Trainer(
            run: run, modelConfig: Fixtures.tinyConfig(.gpt2), tokenizer: Fixtures.tokenizer,
            options: Fixtures.options(kind: .gpt2, steps: 5), data: Fixtures.data())
        // The trainer asks `Interruption` by default; the flag itself is process-wide, so this
        // test (run beside others) hands the trainer its own request instead.
        trainer.stopRequested = { true }
        let summary = try trainer.train()
        #expect(summary.interrupted && summary.steps == 0)
        #expect(try Checkpoint.read(Checkpoint.locate(run.path)).state.step == 0)
    }
}

@Suite struct ValidationTests {
    @Test func nllScoresEveryTargetOnceAndMatchesSegmentLosses() throws {
        let model = try LanguageModel(config: Fixtures.tinyConfig(.transformerXL), seed: 4)
        let tokens = Fixtures.patternPieces(count: 1, length: 101, seed: 2)[0]
        let result = try Validation.negativeLogLikelihood(model: model, tokens: tokens, batch: 2, segmentLength: 16)
        #expect(result.tokens == 2 * 49)  // 2 streams of 50 tokens, 49 targets each
        var memory = model.emptyMemory(batch: 2)
        var total = 0.0
        let streams = StreamBatches(tokens: tokens, batch: 2, segmentLength: 16, includesPartialSegment: true)
        for i in 0..<streams.count {
            let b = streams.batch(i)
            total +=
                Double(try model.loss(tokens: b.tokens, targets: b.targets, batch: 2, memory: &memory))
                * Double(b.targets.count)
        }
        #expect(abs(result.totalNLL - total) < 1e-9)
        #expect(abs(result.perToken - log(Double(model.config.vocabularySize))) < 0.5)
    }
}
