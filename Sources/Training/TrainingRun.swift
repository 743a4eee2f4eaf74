import Foundation
import Generation
import Models
import REMI
import Tensor

/// The whole of `cadenza train` below the argument parsing: load the data, build or restore
/// the trainer, print what is about to happen, train, print the outcome.
public enum TrainingRun {
    /// Starts a new run in `run`. With `epochs`, `options.steps` is replaced by that many
    /// passes over the training split (known only once the data is loaded), and the warm-up by
    /// the default for that many steps unless `warmupGiven` (the user chose it).
    /// `initialWeights`: fine-tune these weights (which fit `modelConfig`) instead of drawing new ones.
    /// `group`: the processes training together (each process of it calls this).
    public static func start(
        run: URL, modelConfig: ModelConfig, tokenizer: REMITokenizer, options: TrainingOptions,
        epochs: Int?, warmupGiven: Bool = false, initialWeights: SafetensorsFile? = nil,
        group: ProcessGroup = .single,
        progress: ProgressPrinter
    ) throws -> TrainingSummary {
        try options.validate()
        try modelConfig.validate()
        if (try? Checkpoint.locate(run.path)) != nil { throw TrainingError.runExists(path: run.path) }
        let data = try loadData(
            group: group, options: options, tokenizer: tokenizer, segmentLength: modelConfig.segmentLength,
            progress: progress)
        var options = options
        if let epochs {
            let perEpoch = batchesPerEpoch(modelConfig: modelConfig, data: data, batch: options.batch)
            options.steps = max(1, epochs * perEpoch)
            if !warmupGiven { options.warmupSteps = TrainingOptions.defaultWarmupSteps(steps: options.steps) }
        }
        let trainer = try Trainer(
            run: run, modelConfig: modelConfig, tokenizer: tokenizer, options: options, data: data,
            initialWeights: initialWeights, group: group)
        if let from = options.initializedFrom { progress.message("fine-tuning: weights from \(from)") }
        return try execute(trainer, progress: progress)
    }

    /// Continues the run in `run` from its latest checkpoint; `steps`, `evalEvery` and
    /// `saveEvery` may be changed (a longer run), nothing else.
    public static func resume(
        run: URL, steps: Int?, evalEvery: Int?, saveEvery: Int?, group: ProcessGroup = .single,
        progress: ProgressPrinter
    ) throws -> TrainingSummary {
        let checkpoint = try Checkpoint.read(Checkpoint.locate(run.path))
        var options = checkpoint.options
        if let steps { options.steps = steps }
        if let evalEvery { options.evalEvery = evalEvery }
        if let saveEvery { options.saveEvery = saveEvery }
        let step = checkpoint.state.step
        progress.message("resuming \(run.path) at step \(step) (epoch \(checkpoint.state.epoch + 1))")
        if options.steps <= step {
            // Nothing is read, trained, measured or written.
            progress.message(
                "the run is already at step \(step), \(options.steps) asked for: nothing to train (give --steps above "
                    + "\(step) to train further)")
            return TrainingSummary(
                steps: step, interrupted: false, validation: nil, lastLoss: .nan,
                tokensSeen: checkpoint.state.tokensSeen,
                tokensPerSecond: 0)
        }
        let data = try loadData(
            group: group, options: options, tokenizer: checkpoint.tokenizer,
            segmentLength: checkpoint.modelConfig.segmentLength, progress: progress)
        if data.fingerprint != checkpoint.state.dataFingerprint {
            progress.message("warning: the training data changed since this run started; the resume is not exact")
        }
        let trainer = try Trainer(resuming: checkpoint, run: run, options: options, data: data, group: group)
        return try execute(trainer, progress: progress)
    }

    /// The data, loaded by the leader first (which fills the token cache) and then by the
    /// other processes of the group (which read it).
    static func loadData(
        group: ProcessGroup, options: TrainingOptions, tokenizer: REMITokenizer, segmentLength: Int,
        progress: ProgressPrinter
    ) throws -> TrainingData {
        func load() throws -> TrainingData {
            try TrainingData.load(
                options: options, tokenizer: tokenizer, segmentLength: segmentLength, report: progress.message)
        }
        guard group.size > 1 else { return try load() }
        let data = group.isLeader ? try load() : nil
        try group.barrier()
        return try data ?? load()
    }

    /// Batches (updates) in one pass over `data` for this model and batch size.
    public static func batchesPerEpoch(modelConfig: ModelConfig, data: TrainingData, batch: Int) -> Int {
        let tokens = data.train.reduce(0) { $0 + $1.count }, T = modelConfig.segmentLength
        switch modelConfig.kind {
        case .transformerXL: return max(tokens / batch - 1, 0) / T
        case .gpt2: return (max(tokens - 1, 0) / T) / batch
        }
    }

    static func execute(_ trainer: Trainer, progress: ProgressPrinter) throws -> TrainingSummary {
        let c = trainer.model.config, o = trainer.options
        progress.message(
            "model: " + c.kind.rawValue
                + String(
                    format: " %d layers, d_model %d, %d heads of %d, inner %d, vocabulary %d, %.2f M parameters",
                    c.layers, c.modelWidth, c.heads, c.headSize, c.innerWidth, c.vocabularySize,
                    Double(c.parameterCount) / 1e6))
        progress.message(
            "training: batch \(o.batch) x \(c.segmentLength) tokens"
                + (c.kind == .transformerXL ? ", memory \(c.memoryLength)" : "")
                + ", \(o.steps) steps (\(trainer.batchesPerEpoch) per epoch), lr \(o.learningRate) warm-up "
                + "\(o.warmupSteps) + cosine, "
                + "clip \(o.clip), \(o.optimizer.weightDecay > 0 ? "AdamW" : "Adam") (\(o.optimizer.beta1), "
                + "\(o.optimizer.beta2)), seed \(o.seed)"
        )
        progress.message("run folder: \(trainer.run.path) (checkpoints latest/ and best/, metrics.jsonl)")
        switch (o.precision, o.effectivePrecision) {
        case (.bfloat16, .bfloat16):
            progress.message(
                "precision: bfloat16 products, float32 sums, weights and optimiser (\(BFloat16GEMM.path.rawValue))")
        case (.bfloat16, _):
            progress.message(
                "precision: float32: this CPU has no bfloat16 unit (AVX-512 BF16), so the run trains in float32")
        case (.float16, .float16):
            progress.message(
                "precision: float16 products (operands scaled by powers of two, sums of 32 in float16, then "
                    + "float32), float32 weights and optimiser (\(Float16GEMM.path.rawValue))")
        case (.float16, _):
            progress.message(
                "precision: float32: this CPU has no float16 unit (AVX-512 FP16), so the run trains in float32")
        default: break
        }
        if trainer.group.size > 1 {
            progress.message(
                "data parallel: \(trainer.group.description), \(trainer.streams.count) of the \(o.batch) "
                    + "\(c.kind == .transformerXL ? "streams" : "windows") each; rank 0 validates and writes")
        }
        trainer.progress = progress
        let summary = try trainer.train()
        var line =
            (summary.interrupted ? "stopped" : "finished")
            + String(
                format: " at step %d: %d tokens seen, %.0f tokens/s",
                summary.steps, summary.tokensSeen, summary.tokensPerSecond)
        if let v = summary.validation {
            line += String(format: ", validation NLL %.4f nats/token (ppl %.2f)", v.perToken, v.perplexity)
        }
        progress.message(line)
        if !summary.interrupted && !trainer.stopRequested() {
            do {
                if let choice = try trainer.chooseDecoderPrecision() {
                    progress.message(
                        "generation precision: \(choice.precision.rawValue) (int4 \(choice.int4CostText) NLL against int8 on "
                            + "\(choice.tokens) validation tokens; \(ModelFolder.decodingFile) beside the weights)")
                }
            } catch is CancellationError {
                progress.message("generation precision not measured (interrupted): generation reads int8 by default")
            } catch {
                // The model is trained and saved; only its default precision stays int8.
                progress.message("generation precision not measured (\(error)): generation reads int8 by default")
            }
        }
        return summary
    }

    /// The training and validation curves of a run, from its metrics log: training loss
    /// averaged over buckets of updates (at most `points` points), validation loss as logged.
    public static func lossCurves(run: URL, points: Int = 400) throws -> (
        train: [(step: Double, loss: Double)],
        validation: [(step: Double, loss: Double)]
    ) {
        let records = try MetricsLog(run: run).read()
        let train = records.filter { $0.kind == "train" }
        let bucket = max(1, (train.count + points - 1) / points)
        var curve: [(Double, Double)] = []
        var start = 0
        while start < train.count {
            let slice = train[start..<min(train.count, start + bucket)]
            curve.append((Double(slice.last!.step), slice.reduce(0) { $0 + $1.loss } / Double(slice.count)))
            start += bucket
        }
        return (curve, records.filter { $0.kind == "validation" }.map { (Double($0.step), $0.loss) })
    }
}
