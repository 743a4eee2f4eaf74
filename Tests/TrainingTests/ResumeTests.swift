import Foundation
import Models
import Tensor
import Testing
@testable import Training

/// Exact resume (issue 6, "Must show"): N updates straight give bit-identical weights to N/2
/// updates, a stop with a checkpoint, and a resume for the other N/2, for both models. The
/// runs cross an epoch boundary (memory reset, reshuffle, new augmentation draws) and use
/// dropout, so the data position, memory and dropout generator must all be restored.
@Suite struct ResumeTests {
    func straightAndResumed(_ kind: ModelKind, precision: GEMM.Precision? = nil) throws -> (
        straight: [String: [UInt32]], resumed: [String: [UInt32]],
        epochs: Int, batchesPerEpoch: Int
    ) {
        let steps = 10
        let config = Fixtures.tinyConfig(kind)
        var options = Fixtures.options(kind: kind, steps: steps)
        options.precision = precision
        let data = Fixtures.data()

        let straightRun = Fixtures.temporaryFolder("straight\(kind)")
        let straight = try Trainer(
            run: straightRun, modelConfig: config, tokenizer: Fixtures.tokenizer,
            options: options, data: data)
        _ = try straight.train()

        let splitRun = Fixtures.temporaryFolder("split\(kind)")
        let first = try Trainer(
            run: splitRun, modelConfig: config, tokenizer: Fixtures.tokenizer, options: options, data: data)
        first.stopAfterStep = steps / 2
        let firstSummary = try first.train()
        #expect(firstSummary.interrupted && firstSummary.steps == steps / 2)

        let checkpoint = try Checkpoint.read(Checkpoint.locate(splitRun.path))
        #expect(checkpoint.state.step == steps / 2)
        let second = try Trainer(resuming: checkpoint, run: splitRun, data: data)
        let summary = try second.train()
        #expect(!summary.interrupted && summary.steps == steps)
        return (
            Fixtures.weights(straight.model), Fixtures.weights(second.model), straight.state.epoch,
            straight.batchesPerEpoch
        )
    }

    @Test func transformerXLResumesBitIdentically() throws {
        let r = try straightAndResumed(.transformerXL)
        #expect(r.epochs >= 1, "the run should cross an epoch boundary (\(r.batchesPerEpoch) batches per epoch)")
        #expect(r.straight.count == r.resumed.count)
        let differing = r.straight.keys.filter { r.resumed[$0] != r.straight[$0] }.sorted()
        #expect(differing.isEmpty, "tensors that differ after resume: \(differing)")
    }

    @Test func gpt2ResumesBitIdentically() throws {
        let r = try straightAndResumed(.gpt2)
        #expect(r.epochs >= 1, "the run should cross an epoch boundary (\(r.batchesPerEpoch) batches per epoch)")
        let differing = r.straight.keys.filter { r.resumed[$0] != r.straight[$0] }.sorted()
        #expect(differing.isEmpty, "tensors that differ after resume: \(differing)")
    }

    /// The mixed precisions the CPU running the tests has a unit for.
    static let mixedPrecisions: [GEMM.Precision] =
        (BFloat16GEMM.path != .plain ? [.bfloat16] : []) + (Float16GEMM.path != .plain ? [.float16] : [])

    /// bfloat16 and float16 products (issue 19): resume is bit-exact within the precision, the
    /// weights do not depend on the thread count, and they differ from float32's (the products
    /// are used).
    @Test(
        .enabled(if: !mixedPrecisions.isEmpty, "this CPU has neither AVX-512 BF16 nor AVX-512 FP16"),
        arguments: mixedPrecisions)
    func mixedPrecisionTrainingResumesExactlyWhateverTheThreads(precision: GEMM.Precision) throws {
        let r = try straightAndResumed(.transformerXL, precision: precision)
        let differing = r.straight.keys.filter { r.resumed[$0] != r.straight[$0] }.sorted()
        #expect(differing.isEmpty, "tensors that differ after resume: \(differing)")
        let float32 = try straightAndResumed(.transformerXL)
        #expect(float32.straight != r.straight)

        func run(threads: Int) throws -> [String: [UInt32]] {
            var options = Fixtures.options(kind: .gpt2, steps: 4)
            options.precision = precision
            let t = try Trainer(
                run: Fixtures.temporaryFolder("\(precision.rawValue)threads\(threads)\(UUID())"),
                modelConfig: Fixtures.tinyConfig(.gpt2),
                tokenizer: Fixtures.tokenizer, options: options, data: Fixtures.data())
            let before = GEMM.threadCount
            try GEMM.setThreadCount(threads)
            defer { try? GEMM.setThreadCount(before) }
            _ = try t.train()
            return Fixtures.weights(t.model)
        }
        #expect(try run(threads: 1) == run(threads: 2))
        #expect(GEMM.precision == .float32, "training must leave the products in float32")
    }

    @Test func sameSeedSameWeightsDifferentSeedDifferent() throws {
        func run(seed: UInt64) throws -> [String: [UInt32]] {
            var options = Fixtures.options(kind: .transformerXL, steps: 3)
            options.seed = seed
            let t = try Trainer(
                run: Fixtures.temporaryFolder("seed\(seed)\(UUID())"), modelConfig: Fixtures.tinyConfig(.transformerXL),
                tokenizer: Fixtures.tokenizer, options: options, data: Fixtures.data())
            _ = try t.train()
            return Fixtures.weights(t.model)
        }
        #expect(try run(seed: 5) == run(seed: 5))
        #expect(try run(seed: 5) != run(seed: 6))
    }
}
