import ArgumentParser
import Evaluation
import Foundation
import Generation
import Models
import Plot
import Tensor
import Training

/// `cadenza eval`: how well a checkpoint predicts held-out music.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "NLL per token and per note, perplexity and bits per token of a model on a data split.",
        discussion: """
        Uses the training loop's own validation function, so the figures match training's \
        validation for the same checkpoint, data and batch. For Transformer-XL it sweeps the \
        evaluation memory length (table and PNG). See docs/generation.md, "Evaluation".
        """)

    @Option(help: "A checkpoint folder or a training run folder (its best checkpoint, else latest).")
    var checkpoint: String

    @Option(help: "MIDI data: a folder, a list file or a MAESTRO-style CSV (default: the data the checkpoint was trained on).")
    var data: String?

    @Option(help: "Which split to score: train, validation or test.")
    var split: String = "test"

    @Option(parsing: .upToNextOption, help: "Transformer-XL evaluation memory lengths, one or more (default: the training mem_len, x2 and x4).")
    var memLen: [Int] = []

    @Flag(help: "Transformer-XL: every query sees the same number of keys (mem_len).")
    var sameLength = false

    @Option(help: "Transformer-XL: clamp relative distances at this many tokens.")
    var clampLen: Int?

    @Option(help: "Streams read side by side (default: the training run's validation batch).")
    var batch: Int?

    @Option(help: "Score at most this many tokens of the split (0: all; default: the run's validation size, 65536).")
    var maxTokens: Int?

    @Option(help: "Share of files for validation when the data has no split column (default: the run's).")
    var validationRatio: Double?

    @Option(help: "Share of files for test when the data has no split column (default: the run's).")
    var testRatio: Double?

    @Option(help: "Token cache folder (default: the run's, else ~/.cache/cadenza/tokens).")
    var cache: String?

    @Flag(help: "Tokenize every file again and keep nothing.")
    var noCache = false

    @Option(help: "Where to draw the memory sweep (PNG; default: eval-memory.png when several memory lengths are scored).")
    var plot: String?

    @Flag(help: "Print the results as JSON.")
    var json = false

    @Option(help: "Score one token at a time through the generation decoder with its weights in this precision (float32, float16 or int8), as `generate` reads them, instead of in batched segments: what a precision costs in NLL.")
    var decoderPrecision: DecoderMatrix.Precision?

    func validate() throws {
        guard Split(rawValue: split) != nil else {
            throw ValidationError("--split must be train, validation or test, got '\(split)'")
        }
        if let bad = memLen.first(where: { $0 < 1 }) { throw ValidationError("--mem-len must be at least 1, got \(bad)") }
        if let batch, batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if let maxTokens, maxTokens < 0 { throw ValidationError("--max-tokens must not be negative, got \(maxTokens)") }
        if decoderPrecision != nil, sameLength || clampLen != nil {
            throw ValidationError("--decoder-precision scores with the generation decoder, which has no --same-length or --clamp-len")
        }
    }

    func run() throws {
        let (bundle, run) = try ModelLocation.checkpoint(checkpoint)
        var config = bundle.config
        if sameLength { config.sameLength = true }
        if let clampLen { config.clampLength = clampLen }
        // Batched scoring needs the model; stepwise scoring builds its decoder from the bundle.
        let model = decoderPrecision == nil ? try LanguageModel(config: config, checkpoint: bundle.weights) : nil

        let trained = run?.options
        guard let path = data ?? trained?.data.path else {
            throw ValidationError("--data is required: \(bundle.folder.path) does not say what it was trained on")
        }
        let defaults = trained?.data.ratios ?? SplitRatios()
        let ratios = SplitRatios(validation: validationRatio ?? defaults.validation, test: testRatio ?? defaults.test)
        try ratios.validate()
        let splitName = Split(rawValue: split) ?? .test
        let evaluation = try EvaluationData.load(
            path: path, ratios: ratios, split: splitName, tokenizer: bundle.tokenizer,
            cacheFolder: noCache ? nil : URL(fileURLWithPath: cache ?? trained?.data.cacheFolder ?? TokenCache.defaultFolder.path),
            maximumTokens: maxTokens ?? trained?.evalTokens ?? 65_536)
        guard evaluation.tokens.count >= 2 else {
            throw ValidationError("the \(split) split of \(path) has \(evaluation.files) files and \(evaluation.tokens.count) tokens: nothing to score (try --split validation, or --test-ratio)")
        }
        let streams = batch ?? Perplexity.validationBatch(runBatch: trained?.batch ?? 16, tokens: evaluation.tokens.count,
                                                          segmentLength: config.segmentLength)
        let memories: [Int?] = config.kind == .gpt2 ? [nil]
            : (memLen.isEmpty ? [1, 2, 4].map { $0 * max(config.memoryLength, 1) } : memLen)
        var reports: [NLLReport] = []
        for m in memories {
            if let decoderPrecision {
                let stepper = try bundle.stepper(memoryLength: m, precision: decoderPrecision)
                reports.append(try Perplexity.evaluateStepwise(stepper: stepper, tokens: evaluation.tokens, memoryLength: m,
                                                               vocabulary: bundle.tokenizer.vocabulary))
            } else if let model {
                reports.append(try Perplexity.evaluate(model: model, tokens: evaluation.tokens, batch: streams,
                                                       memoryLength: m, vocabulary: bundle.tokenizer.vocabulary))
            }
            if !json, let last = reports.last {
                FileHandle.standardError.write(Data("scored mem_len \(m.map(String.init) ?? "-"): \(String(format: "%.4f", last.nllPerToken)) nats/token\n".utf8))
            }
        }

        let sweep = MemorySweep(points: reports, trainingMemoryLength: bundle.config.memoryLength)
        var plotPath: String?
        if config.kind == .transformerXL && (reports.count > 1 || plot != nil) {
            plotPath = plot ?? "eval-memory.png"
            let title = "\(bundle.folder.lastPathComponent): NLL on \(split) vs memory"
            try PNG.write(sweep.chart(title: title).render(), to: URL(fileURLWithPath: plotPath ?? ""))
        }
        if json {
            let summary = EvalSummary(checkpoint: bundle.folder.path, kind: config.kind.rawValue, data: path, split: split,
                                      files: evaluation.files, skippedFiles: evaluation.skipped.count,
                                      evaluatedTokens: evaluation.tokens.count, batch: streams,
                                      sameLength: config.sameLength, clampLength: config.clampLength,
                                      trainingMemoryLength: config.kind == .gpt2 ? nil : bundle.config.memoryLength,
                                      plot: plotPath, results: sweep.points)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print("model: \(config.kind.rawValue), \(config.parameterCount) parameters, \(bundle.folder.path)")
            print("data: \(path), \(split) split: \(evaluation.files) files (\(evaluation.skipped.count) skipped), "
                  + "\(evaluation.tokens.count) tokens, \(streams) streams"
                  + (config.sameLength ? ", same_length" : "") + (config.clampLength > 0 ? ", clamp_len \(config.clampLength)" : ""))
            print(sweep.table())
            if let plotPath { print("wrote \(plotPath)") }
        }
    }
}

/// What `cadenza eval --json` prints.
struct EvalSummary: Encodable {
    var checkpoint: String, kind: String, data: String, split: String
    var files: Int, skippedFiles: Int, evaluatedTokens: Int, batch: Int
    var sameLength: Bool, clampLength: Int, trainingMemoryLength: Int?
    var plot: String?
    var results: [NLLReport]
}
