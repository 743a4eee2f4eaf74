import Evaluation
import Corpus
import Basics
import Foundation
import Generation
import Models
import REMI
import Tensor

/// The token data a run trains and validates on.
public struct TrainingData: Sendable {
    /// Training pieces, each ending with the end-of-piece id, in corpus order.
    public var train: [[Int32]]
    /// Validation pieces joined into one sequence, cut at `TrainingOptions.evalTokens`.
    public var validation: [Int32]
    /// `TokenizedCorpus.fingerprint(of: .train)`, recorded in checkpoints.
    public var fingerprint: String
    /// Each training piece's style, an index into the tokenizer's styles (nil: none).
    public var trainStyles: [Int?] = []

    /// Data from pieces already tokenized.
    public init(train: [[Int32]], validation: [Int32], fingerprint: String) {
        self.train = train
        self.validation = validation
        self.fingerprint = fingerprint
    }

    /// Finds, tokenizes (through the cache) and splits the corpus that `options.data` names;
    /// reports skipped files through `report`. Throws when the training split cannot fill one
    /// batch of `batch` x (`segmentLength` + 1) tokens.
    public static func load(
        options: TrainingOptions, tokenizer: REMITokenizer, segmentLength: Int,
        report: (String) -> Void = { _ in }
    ) throws -> TrainingData {
        let (files, layout) = try CorpusSource.files(at: options.data.path, ratios: options.data.ratios)
        let counts = Split.allCases.map { s in "\(files.filter { $0.split == s }.count) \(s.rawValue)" }
        report("data: \(files.count) MIDI files (\(layout.rawValue); \(counts.joined(separator: ", ")))")
        let cache = TokenCache(folder: options.data.cacheFolder.map { URL(fileURLWithPath: $0) }, tokenizer: tokenizer)
        let started = Date()
        let corpus = try cache.load(files)
        report(
            String(
                format: "tokens: %d files tokenized, %d from the cache, %.1f s; train %d tokens, validation %d tokens",
                corpus.tokenizedCount, corpus.pieces.count - corpus.tokenizedCount, Date().timeIntervalSince(started),
                corpus.tokenCount(of: .train), corpus.tokenCount(of: .validation)))
        if !corpus.skipped.isEmpty {
            report("skipped \(corpus.skipped.count) unreadable files:")
            for file in corpus.skipped { report("  \(file.path): \(file.reason)") }
        }
        let needed = StreamBatches.minimumTokens(batch: options.batch, segmentLength: segmentLength)
        let trainTokens = corpus.tokenCount(of: .train)
        guard trainTokens >= needed else {
            throw TrainingError.notEnoughData(
                split: "train", tokens: trainTokens, needed: needed, skipped: corpus.skipped.count)
        }
        let validation = validationSample(corpus.pieces(of: .validation), tokens: options.evalTokens)
        if validation.count < 2 { report("no validation data: validation is skipped and no best checkpoint is kept") }
        var data = TrainingData(
            train: corpus.pieces(of: .train), validation: validation, fingerprint: corpus.fingerprint(of: .train))
        let styles = tokenizer.config.styles
        data.trainStyles = corpus.pieces.filter { $0.file.split == .train }.map { piece in
            (piece.file.style ?? options.data.defaultStyle).flatMap { styles.firstIndex(of: $0) }
        }
        return data
    }
}

/// What a call to `Trainer.train()` did.
public struct TrainingSummary: Sendable {
    /// Updates taken in total (including before a resume).
    public var steps: Int
    /// Whether it stopped early (signal or `stopAfterStep`) rather than at `options.steps`.
    public var interrupted: Bool
    /// The last validation result, if validation ran.
    public var validation: NLLResult?
    /// The mean training loss of the last update.
    public var lastLoss: Float
    /// Training tokens read in total.
    public var tokensSeen: Int
    /// Training tokens per second over this call's updates (forward, backward, clip, update).
    public var tokensPerSecond: Double
}

/// Trains a model: the batching of its architecture, Adam/AdamW with warm-up and cosine decay,
/// global gradient clipping, validation at intervals, and checkpoints that allow an exact,
/// bit-identical resume (see docs/training.md).
public final class Trainer {
    /// The run folder (checkpoints `latest` and `best`, `metrics.jsonl`).
    public let run: URL
    /// The model being trained (its weights change in place).
    public let model: LanguageModel
    /// The tokenizer the data was made with (saved in checkpoints; drives augmentation).
    public let tokenizer: REMITokenizer
    /// Hyperparameters.
    public let options: TrainingOptions
    /// Position, generators and counters.
    public private(set) var state: TrainerState
    /// Progress output (nil: silent).
    public var progress: ProgressPrinter?
    /// Stop as if interrupted once this many updates are done (checkpoint written).
    public var stopAfterStep: Int?
    /// Asked between updates whether to stop with a checkpoint (default: a SIGINT/SIGTERM
    /// arrived, see `Interruption`).
    public var stopRequested: () -> Bool = { Interruption.isRequested }
    /// The processes training this model together; this one trains `streams` of each batch.
    public let group: ProcessGroup
    /// This process's streams (rows) of every batch: all of them in one process.
    public let streams: Range<Int>

    private let data: TrainingData
    private let optimizer: Adam
    private var memory: Memory?
    private var batches: BatchSequence
    private let metrics: MetricsLog
    /// Every gradient and the loss, end to end, as the group sums them (kept between updates).
    private var flat: [Float] = []

    /// Starts a new run in `run`, which must not hold a checkpoint yet, from weights drawn
    /// with `options.seed`, or from `initialWeights` (fine-tuning a trained model: they must
    /// fit `modelConfig`; the optimiser, schedule and data order start afresh).
    public convenience init(
        run: URL, modelConfig: ModelConfig, tokenizer: REMITokenizer, options: TrainingOptions,
        data: TrainingData, initialWeights: SafetensorsFile? = nil, group: ProcessGroup = .single
    ) throws {
        try options.validate()
        try modelConfig.validate()
        guard modelConfig.vocabularySize == tokenizer.vocabulary.count else {
            throw TrainingError.invalidOption(
                name: "config", value: "n_token \(modelConfig.vocabularySize)",
                rule: "must equal the tokenizer's \(tokenizer.vocabulary.count) ids")
        }
        if (try? Checkpoint.locate(run.path)) != nil { throw TrainingError.runExists(path: run.path) }
        // The model first: weights that do not fit are refused before the run folder exists.
        let model: LanguageModel
        if let initialWeights {
            // Weights of the same vocabulary are all copied; a vocabulary grown by control tokens
            // keeps every weight and draws the new ids' rows.
            do {
                model = try LanguageModel(
                    config: modelConfig, growing: initialWeights, seed: SeededShuffle.mix(options.seed, 0x1417))
            } catch {
                throw TrainingError.invalidOption(
                    name: "init-from", value: options.initializedFrom ?? "the given weights",
                    rule: "its weights must fit the model config (\(error))")
            }
        } else {
            model = try LanguageModel(config: modelConfig, seed: SeededShuffle.mix(options.seed, 0x1417))
        }
        do { try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true) } catch {
            throw TrainingError.checkpointUnwritable(path: run.path, reason: error.localizedDescription)
        }
        let state = TrainerState(
            step: 0, epoch: 0, batchInEpoch: 0,
            dropoutGenerator: SeededGenerator(seed: SeededShuffle.mix(options.seed, 0xD209)),
            tokensSeen: 0, elapsedSeconds: 0, bestValidationLoss: nil, dataFingerprint: data.fingerprint)
        try self.init(
            run: run, model: model, tokenizer: tokenizer, options: options, state: state, data: data, group: group)
        if group.isLeader { _ = try? FileManager.default.removeItem(at: metrics.url) }
    }

    /// Continues the run whose latest checkpoint is `checkpoint`, exactly where it stopped.
    /// `options` may differ from the checkpoint's only in `steps`, `evalEvery` and `saveEvery`.
    /// The group may differ from the one that wrote the checkpoint (the memory is saved whole).
    public convenience init(
        resuming checkpoint: Checkpoint, run: URL, options: TrainingOptions? = nil,
        data: TrainingData, group: ProcessGroup = .single
    ) throws {
        var options = options ?? checkpoint.options
        let saved = checkpoint.options
        var comparable = options
        comparable.steps = saved.steps; comparable.evalEvery = saved.evalEvery; comparable.saveEvery = saved.saveEvery
        guard comparable == saved else {
            throw TrainingError.incompatibleCheckpoint(
                path: checkpoint.folder.path,
                reason: "a resumed run keeps its settings; only --steps, --eval-every and --save-every may change")
        }
        try options.validate()
        options.steps = max(options.steps, checkpoint.state.step)
        let model = try checkpoint.loadModel()
        try self.init(
            run: run, model: model, tokenizer: checkpoint.tokenizer, options: options,
            state: checkpoint.state, data: data, group: group)
        try checkpoint.restore(optimizer: optimizer, model: model)
        memory = try checkpoint.restoreMemory(model: model, batch: options.batch).map { $0.streams(streams) }
        if group.isLeader { try? metrics.truncate(after: state.step) }
    }

    private init(
        run: URL, model: LanguageModel, tokenizer: REMITokenizer, options: TrainingOptions,
        state: TrainerState, data: TrainingData, group: ProcessGroup
    ) throws {
        guard options.batch % group.size == 0 else {
            throw DataParallelError.batchNotDivisible(batch: options.batch, processes: group.size)
        }
        self.group = group
        self.streams = group.share(of: options.batch)
        self.run = run
        self.model = model
        self.tokenizer = tokenizer
        self.options = options
        self.state = state
        self.data = data
        self.metrics = MetricsLog(run: run)
        let decays = Set(Self.decayedNames(model))
        optimizer = Adam(
            parameters: zip(model.parameters, model.gradients).map {
                OptimizedParameter(value: $0.0.tensor, gradient: $0.1.tensor, decays: decays.contains($0.0.name))
            }, configuration: options.optimizer.configuration)
        batches = Self.batches(model: model, data: data, options: options, tokenizer: tokenizer, epoch: state.epoch)
        memory = model.emptyMemory(batch: streams.count)
        guard batches.count > 0 else {
            throw TrainingError.notEnoughData(
                split: "train", tokens: data.train.reduce(0) { $0 + $1.count },
                needed: StreamBatches.minimumTokens(
                    batch: options.batch,
                    segmentLength: model.config.segmentLength),
                skipped: 0)
        }
    }

    /// Weight matrices decay (AdamW); biases, LayerNorm parameters and the u/v biases do not,
    /// as in GPT-2's and nanoGPT's recipe (tensors of rank >= 2).
    static func decayedNames(_ model: LanguageModel) -> [String] {
        model.parameters.filter { $0.tensor.shape.count >= 2 && !$0.name.hasPrefix("r_") }.map(\.name)
    }

    /// The batches of epoch `epoch`: the training pieces in an order shuffled by (seed,
    /// epoch), each augmented by its own draw, joined; then streams (Transformer-XL) or
    /// shuffled windows (GPT-2).
    static func batches(
        model: LanguageModel, data: TrainingData, options: TrainingOptions, tokenizer: REMITokenizer,
        epoch: Int
    ) -> BatchSequence {
        let epochSeed = UInt64(epoch)
        let order = SeededShuffle(seed: SeededShuffle.mix(options.seed, 0x0DE7, epochSeed)).apply(
            Array(data.train.indices))
        let augmentation = options.data.augmentation
        var stream: [Int32] = []
        stream.reserveCapacity(data.train.reduce(0) { $0 + $1.count })
        for piece in order {
            var ids = data.train[piece]
            if !augmentation.isIdentity {
                let draw = augmentation.draw(seed: options.seed, epoch: epoch, piece: piece)
                ids = augmentation.apply(draw, to: ids, tokenizer: tokenizer)
            }
            if let controls = options.data.controls {
                let style = piece < data.trainStyles.count ? data.trainStyles[piece] : nil
                ids = controls.apply(
                    to: ids, style: style, tokenizer: tokenizer, seed: options.seed, epoch: epoch, piece: piece)
            }
            stream += ids
        }
        let T = model.config.segmentLength
        switch model.network {
        case .transformerXL:
            return StreamBatches(tokens: stream, batch: options.batch, segmentLength: T)
        case .gpt2:
            return WindowBatches(
                tokens: stream, batch: options.batch, contextLength: T,
                shuffle: SeededShuffle(seed: SeededShuffle.mix(options.seed, 0x3D, epochSeed)))
        }
    }

    /// Batches per epoch.
    public var batchesPerEpoch: Int { batches.count }

    /// Trains until `options.steps` updates (or an interruption), validating and saving at
    /// the intervals; returns what happened. Throws `TrainingError.nonFiniteLoss` (nothing
    /// is saved for the bad step) and checkpoint errors.
    public func train() throws -> TrainingSummary {
        // From here a Ctrl-C ends with a checkpoint; before (while tokenizing) it ends the
        // process at once, which loses nothing.
        Interruption.handleStopsInCaller()
        // The updates' products in the run's precision; validation and everything after in float32.
        GEMM.setPrecision(options.effectivePrecision)
        defer { GEMM.setPrecision(.float32) }
        var dropout = DropoutSource.training(state.dropoutGenerator, firstStream: streams.lowerBound)
        let schedule = options.schedule
        var lastLoss: Float = .nan
        var lastValidation: NLLResult?
        var trainingSeconds = 0.0, trainingTokens = 0
        let latest = run.appendingPathComponent("latest")
        let callStart = Date(), elapsedBefore = state.elapsedSeconds

        // Every process calls it (the memory is gathered from all); the leader writes.
        func save(_ name: String) throws {
            state.dropoutGenerator = dropout.generator ?? state.dropoutGenerator
            state.elapsedSeconds = elapsedBefore + Date().timeIntervalSince(callStart)
            let whole = try wholeMemory()
            guard group.isLeader else { return }
            try Checkpoint.write(
                name: name, run: run, model: model, optimizer: optimizer, memory: whole,
                tokenizer: tokenizer, options: options, state: state)
        }
        func summary(interrupted: Bool) -> TrainingSummary {
            TrainingSummary(
                steps: state.step, interrupted: interrupted, validation: lastValidation, lastLoss: lastLoss,
                tokensSeen: state.tokensSeen,
                tokensPerSecond: trainingSeconds > 0 ? Double(trainingTokens) / trainingSeconds : 0)
        }

        while state.step < options.steps {
            if try group.any(stopRequested() || (stopAfterStep.map { state.step >= $0 } ?? false)) {
                try save("latest")
                progress?.message("stopped at step \(state.step); checkpoint written to \(latest.path)")
                return summary(interrupted: true)
            }
            if state.batchInEpoch >= batches.count {
                state.epoch += 1
                state.batchInEpoch = 0
                batches = Self.batches(
                    model: model, data: data, options: options, tokenizer: tokenizer, epoch: state.epoch)
                memory = model.emptyMemory(batch: streams.count)
            }
            let stepStart = Date()
            let batch = batches.batch(state.batchInEpoch)
            let mine = group.size > 1 ? batch.rows(streams) : batch
            var loss = try model.lossAndGradients(
                tokens: mine.tokens, targets: mine.targets, batch: mine.batch,
                memory: &memory, dropout: &dropout)
            loss = try sumOverProcesses(loss: loss, share: Float(mine.targets.count) / Float(batch.targets.count))
            let norm = GradientClipping.clip(model.gradients.map(\.tensor), maxNorm: options.clip)
            guard loss.isFinite, norm.isFinite else {
                let kept = FileManager.default.fileExists(atPath: latest.path) ? latest.path : nil
                throw TrainingError.nonFiniteLoss(step: state.step + 1, loss: loss.isFinite ? .nan : loss, kept: kept)
            }
            let rate = schedule.rate(atStep: state.step + 1)
            optimizer.update(learningRate: rate)
            let seconds = Date().timeIntervalSince(stepStart)
            trainingSeconds += seconds
            trainingTokens += batch.targets.count
            state.step += 1
            state.batchInEpoch += 1
            state.dropoutGenerator = dropout.generator ?? state.dropoutGenerator
            state.tokensSeen += batch.targets.count
            lastLoss = loss
            let tokensPerSecond =
                progress?.update(
                    step: state.step, steps: options.steps, epoch: state.epoch,
                    loss: Double(loss), learningRate: rate, gradientNorm: norm,
                    tokens: batch.targets.count, seconds: seconds)
                ?? Double(batch.targets.count) / max(seconds, 1e-9)
            if group.isLeader {
                try? metrics.append(
                    MetricsRecord(
                        kind: "train", step: state.step, epoch: state.epoch, loss: Double(loss),
                        learningRate: Double(rate), gradientNorm: norm, tokensPerSecond: tokensPerSecond,
                        tokensSeen: state.tokensSeen,
                        elapsedSeconds: elapsedBefore + Date().timeIntervalSince(callStart)))
            }

            let last = state.step == options.steps
            if data.validation.count >= 2 && ((options.evalEvery > 0 && state.step % options.evalEvery == 0) || last) {
                // The leader validates; the others wait for its figure to agree on "best".
                let result = group.isLeader ? try validate() : nil
                let perToken = try group.leaderValue(result?.perToken ?? 0)
                let improved = state.bestValidationLoss.map { perToken < $0 } ?? true
                if let result {
                    lastValidation = result
                    try? metrics.append(
                        MetricsRecord(
                            kind: "validation", step: state.step, epoch: state.epoch,
                            loss: result.perToken, tokensSeen: state.tokensSeen,
                            elapsedSeconds: elapsedBefore + Date().timeIntervalSince(callStart)))
                    progress?.message(
                        String(
                            format: "validation at step %d: loss %.4f nats/token, ppl %.2f (%d tokens)",
                            state.step, result.perToken, result.perplexity, result.tokens)
                            + (improved ? " - best so far" : ""))
                }
                if improved {
                    state.bestValidationLoss = perToken
                    try save("best")
                }
            }
            if last || state.step % options.saveEvery == 0 { try save("latest") }
        }
        return summary(interrupted: false)
    }

    /// In a group, replaces this process's gradients by the whole batch's (each process's
    /// weighted by its `share` of the batch's targets, summed in rank order: the same bits on
    /// every process) and returns the whole batch's loss; in one process, returns `loss`.
    private func sumOverProcesses(loss: Float, share: Float) throws -> Float {
        guard group.size > 1 else { return loss }
        let total = model.gradients.reduce(0) { $0 + $1.tensor.count }
        if flat.count != total + 1 { flat = [Float](repeating: 0, count: total + 1) }
        var offset = 0
        flat.withUnsafeMutableBufferPointer { out in
            for (_, g) in model.gradients {
                for i in 0..<g.count { out[offset + i] = g.pointer[i] * share }
                offset += g.count
            }
        }
        flat[total] = loss * share
        try flat.withUnsafeMutableBufferPointer { try group.sum($0) }
        offset = 0
        for (_, g) in model.gradients {
            flat.withUnsafeBufferPointer { g.pointer.update(from: $0.baseAddress! + offset, count: g.count) }
            offset += g.count
        }
        return flat[total]
    }

    /// The memory of every stream of the batch, gathered from the group (each process holds
    /// its own streams'), as a checkpoint keeps it.
    private func wholeMemory() throws -> Memory? {
        guard group.size > 1, let memory else { return memory }
        let layers = try memory.layers.map { t in
            let all = try group.gather(Array(UnsafeBufferPointer(start: t.pointer, count: t.count)))
            return Tensor(shape: [t.shape[0] * group.size, t.shape[1], t.shape[2]], values: all)
        }
        return Memory(memoryLength: memory.memoryLength, layers: layers) ?? memory
    }

    /// Measures int8 and int4 generation on the run's validation sample (`--eval-tokens`
    /// tokens of whole pieces: what int4 costs varies from piece to piece, so a few pieces can
    /// mislead) with the checkpoint generation reads from this run (`best`, else `latest`) and
    /// saves the choice beside its weights (`DecoderChoice`, `decoding.json`): a newly trained
    /// model then generates with int4 by default only where int4 was measured to cost nothing.
    /// nil (and nothing written) without validation data, a checkpoint, or on a process other
    /// than the leader. Throws `CancellationError` (nothing written) when `stopRequested` says so
    /// while it reads.
    public func chooseDecoderPrecision() throws -> DecoderChoice? {
        guard group.isLeader, data.validation.count >= 2 else { return nil }
        progress?.message(
            "measuring generation's default precision: int8 against int4, one token at a time, on the validation "
                + "sample (the model is saved; Ctrl-C stops this)")
        let checkpoint = try ModelFolder.read(Checkpoint.locate(run.path, preferBest: true))
        return try checkpoint.measureDecoderChoice(
            tokens: data.validation,
            memoryLength: model.config.kind == .gpt2 ? nil : max(model.config.memoryLength, 1),
            data: "the run's validation sample (\(data.validation.count) tokens)", shouldStop: stopRequested)
    }

    /// The model's NLL on the validation data (memory starting empty, no dropout), in float32.
    public func validate() throws -> NLLResult {
        let precision = GEMM.precision
        GEMM.setPrecision(.float32)
        defer { GEMM.setPrecision(precision) }
        let batch = max(1, min(options.batch, data.validation.count / (model.config.segmentLength + 1)))
        return try Validation.negativeLogLikelihood(model: model, tokens: data.validation, batch: batch)
    }
}
