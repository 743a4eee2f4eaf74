import Corpus
import ArgumentParser
import Basics
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
            evaluation memory length (a table, and a PNG with --plot). Music other than the \
            training data is scored whole; the training data's test split by default. See \
            docs/generation.md, "Evaluation".
            """)

    @Option(help: "A checkpoint folder or a training run folder (its best checkpoint, else latest).")
    var checkpoint: String

    @Option(
        help:
            "MIDI data: a folder, a list file or a MAESTRO-style CSV (default: the data the checkpoint was trained on)."
    )
    var data: String?

    @Option(
        help:
            .init(
                "Which files to score: train, validation, test (the data's split column, else the hash split by the "
                    + "ratios) or all (default: all files of new music; the test split of the data the checkpoint was "
                    + "trained on)."
            )
    )
    var split: String?

    // Several values: listed in `Cadenza.manyValueOptions`, so that a negative one reaches the range check.
    @Option(
        parsing: .upToNextOption,
        help:
            .init(
                "Transformer-XL evaluation memory lengths, one or more, 0...\(ModelConfig.maximumLength) (0: none; "
                    + "default: the training mem_len, x2 and x4; for a model trained without memory, 0 and one "
                    + "and two segment lengths).")
    )
    var memLen: [Int] = []

    @Flag(help: "Transformer-XL: every query sees the same number of keys (mem_len).")
    var sameLength = false

    @Option(parsing: .unconditional, help: "Transformer-XL: clamp relative distances at this many tokens.")
    var clampLen: Int?

    @Option(parsing: .unconditional, help: "Streams read side by side (default: the training run's validation batch).")
    var batch: Int?

    @Option(
        parsing: .unconditional,
        help: "Score at most this many tokens of the split (0: all; default: the run's validation size, 65536).")
    var maxTokens: Int?

    @OptionGroup var splitRatios: SplitRatioOptions

    @Option(help: "Token cache folder (default: the run's, else ~/.cache/cadenza/tokens).")
    var cache: String?

    @Flag(help: "Tokenize every file again and keep nothing.")
    var noCache = false

    @Option(help: "Draw the NLL against the memory length into this PNG (Transformer-XL).")
    var plot: String?

    @OptionGroup var threadOptions: ThreadOptions

    @Flag(
        help: """
            With a model that has control tokens: read the plain music, without them. By default they are \
            added as in training (each bar's key and density) and the NLL counts per music token.
            """)
    var plain = false
    @Flag(help: "Print the results as one JSON object (docs/cli.md).")
    var json = false

    @Flag(
        help: """
            Score whole pieces, each from its first token, and report the NLL by position in the piece (tokens \
            1-511, 512-2047, 2048-8191, 8192 on): where a memory pays. Transformer-XL reads streams of whole \
            pieces; GPT-2 slides its window over each piece (--window, --stride).
            """)
    var byPosition = false

    @Option(
        parsing: .unconditional,
        help: "GPT-2 with --by-position: the window, in tokens (default: the training context).")
    var window: Int?

    @Option(
        parsing: .unconditional, help: "GPT-2 with --by-position: tokens between windows (default: half the window).")
    var stride: Int?

    @Option(
        help:
            .init(
                "Score one token at a time through the generation decoder with its weights in this precision (float32, "
                    + "float16, int8 or int4), as `generate` reads them, instead of in batched segments: what a precision "
                    + "costs in NLL."
            )
    )
    var decoderPrecision: DecoderMatrix.Precision?

    @Flag(
        help: .init(
            "Score one token at a time with int8 and with int4 weights and save the choice in the model folder "
                + "(decoding.json): int4 becomes the model's generation default where it costs at most "
                + "--tolerance of int8's NLL. Scores the validation split of the training data by default.")
    )
    var choosePrecision = false

    @Option(
        parsing: .unconditional,
        help: "With --choose-precision: the largest relative NLL cost int4 may have and still be chosen.")
    var tolerance = DecoderChoice.defaultTolerance

    func validate() throws {
        if choosePrecision {
            if decoderPrecision != nil || byPosition || sameLength || clampLen != nil || plot != nil {
                throw ValidationError(
                    "--choose-precision scores int8 and int4 itself, with the generation decoder: it does not combine "
                        + "with --decoder-precision, --by-position, --same-length, --clamp-len or --plot")
            }
            if memLen.count > 1 {
                throw ValidationError("--choose-precision scores at one memory length, got \(memLen.count)")
            }
        }
        if !(tolerance.isFinite && tolerance >= 0 && tolerance <= 1) {
            throw ValidationError("--tolerance must be 0...1 (a share of int8's NLL), got \(tolerance)")
        }
        if let split, split != "all", Split(rawValue: split) == nil {
            throw ValidationError("--split must be train, validation, test or all, got '\(split)'")
        }
        if let bad = memLen.first(where: { !(0...ModelConfig.maximumLength).contains($0) }) {
            throw ValidationError("--mem-len must be 0...\(ModelConfig.maximumLength), got \(bad)")
        }
        if !byPosition, window != nil || stride != nil {
            throw ValidationError("--window and --stride go with --by-position")
        }
        if byPosition, decoderPrecision != nil {
            throw ValidationError("--by-position scores in batches; it does not combine with --decoder-precision")
        }
        for (name, value) in [("--window", window), ("--stride", stride)] {
            if let value, !(1...ModelConfig.maximumLength).contains(value) {
                throw ValidationError("\(name) must be 1...\(ModelConfig.maximumLength), got \(value)")
            }
        }
        if let batch, !(1...ModelConfig.maximumLength).contains(batch) {
            throw ValidationError("--batch must be 1...\(ModelConfig.maximumLength), got \(batch)")
        }
        if let maxTokens, maxTokens < 0 { throw ValidationError("--max-tokens must not be negative, got \(maxTokens)") }
        if decoderPrecision != nil, sameLength || clampLen != nil {
            throw ValidationError(
                "--decoder-precision scores with the generation decoder, which has no --same-length or --clamp-len")
        }
    }

    /// The fewest tokens `--choose-precision` measures int4 on.
    static let fewestChoiceTokens = 1_024

    func run() throws {
        try threadOptions.apply()
        if let plot { try OutputPath.checkFile(URL(fileURLWithPath: plot)) }
        let (bundle, run) = try ModelLocation.checkpoint(checkpoint)
        if bundle.config.kind == .gpt2 {
            // As generate: these are Transformer-XL's, and a GPT-2 would be scored without them.
            for (flag, given) in [
                ("--mem-len", !memLen.isEmpty), ("--same-length", sameLength), ("--clamp-len", clampLen != nil),
            ]
            where given {
                throw ValidationError(
                    "\(flag) applies to Transformer-XL; \(bundle.folder.path) is a GPT-2, which reads a window of "
                        + "\(bundle.config.positions) tokens")
            }
        }
        var config = bundle.config
        if sameLength { config.sameLength = true }
        if let clampLen { config.clampLength = clampLen }
        // Batched scoring needs the model; stepwise scoring builds its decoder from the bundle.
        let stepwise = decoderPrecision != nil || choosePrecision
        let model = stepwise ? nil : try LanguageModel(config: config, checkpoint: bundle.weights)

        let trained = run?.options
        guard let path = data ?? trained?.data.path else {
            throw ValidationError("--data is required: \(bundle.folder.path) does not say what it was trained on")
        }
        if data == nil, !path.hasPrefix("/") {
            // Runs made before paths were recorded absolute: the same name may be other data here.
            FileHandle.standardError.write(
                Data(
                    ("note: \(bundle.folder.path) recorded its data as \(path), relative to the folder it was trained "
                        + "in; reading it from \(FileManager.default.currentDirectoryPath) (give --data to be sure)\n")
                        .utf8))
        }
        // New music is scored whole; the training data's own held-out split by default.
        let isTrainingData =
            trained.map {
                URL(fileURLWithPath: $0.data.path).standardizedFileURL == URL(fileURLWithPath: path).standardizedFileURL
            } ?? false
        // A choice is tuned on the validation split, so that the test split stays unseen.
        let chosenSplit = split ?? (isTrainingData ? (choosePrecision ? Split.validation : Split.test).rawValue : "all")
        let splitName = Split(rawValue: chosenSplit)
        let scope = splitName.map { "the \($0.rawValue) split of \(path)" } ?? "all files of \(path)"
        let defaults = trained?.data.ratios ?? SplitRatios()
        let ratios = splitRatios.ratios(defaults: defaults)
        try ratios.validate()
        let evaluation = try EvaluationData.load(
            path: path, ratios: ratios, split: splitName, tokenizer: bundle.tokenizer,
            cacheFolder: noCache
                ? nil : URL(fileURLWithPath: cache ?? trained?.data.cacheFolder ?? TokenCache.defaultFolder.path),
            maximumTokens: maxTokens ?? trained?.evalTokens ?? 65_536, controls: !plain)
        guard evaluation.tokens.count >= 2 else {
            throw CommandFailure(
                "\(scope) holds \(evaluation.files.counted("file")) and \(evaluation.tokens.count.counted("token")): "
                    + "nothing to score" + (splitName == nil ? "" : " (try --split all)"))
        }
        let streams =
            batch
            ?? Perplexity.validationBatch(
                runBatch: trained?.batch ?? 16, tokens: evaluation.tokens.count,
                segmentLength: config.segmentLength)
        // Each stream needs a segment and its next token; more streams than that would score
        // nothing and report NaN.
        let mostStreams = max(1, evaluation.tokens.count / (config.segmentLength + 1))
        if choosePrecision {
            // int4's cost is a fraction of a percent; a few bars cannot measure it, and the
            // choice is saved and used from then on.
            guard evaluation.tokens.count >= Self.fewestChoiceTokens else {
                throw CommandFailure(
                    "\(scope) holds \(evaluation.tokens.count.counted("token")), too few to measure int4's cost: "
                        + "--choose-precision needs at least \(Self.fewestChoiceTokens) (give more data or --split)")
            }
            try choose(bundle: bundle, tokens: evaluation.tokens, scope: scope)
            return
        }
        if !stepwise, streams > mostStreams {
            throw ValidationError(
                "--batch \(streams) is more streams than \(evaluation.tokens.count.counted("token")) can fill "
                    + "(at most \(mostStreams) of \(config.segmentLength + 1) tokens)")
        }
        try config.checkFitsInMemory(batch: streams)
        let memories: [Int?] =
            config.kind == .gpt2
            ? [nil]
            : (memLen.isEmpty
                ? (config.memoryLength > 0
                    ? [1, 2, 4].map { $0 * config.memoryLength } : [0, config.segmentLength, 2 * config.segmentLength])
                : memLen)
        var reports: [NLLReport] = []
        var positional: [PositionalReport] = []
        let pieces =
            byPosition
            ? PositionalEvaluation.pieces(
                of: evaluation.tokens, endOfPiece: Int32(bundle.tokenizer.vocabulary.endOfPieceID)) : []
        for m in memories {
            let report: NLLReport
            if byPosition, let model {
                let byPiece = try PositionalEvaluation.score(
                    model: model, pieces: pieces, batch: streams, memoryLength: m, window: window, stride: stride,
                    vocabulary: bundle.tokenizer.vocabulary)
                positional.append(byPiece)
                report = NLLReport(
                    memoryLength: config.kind == .gpt2 ? nil : byPiece.memoryLength, tokens: byPiece.all.tokens,
                    totalNLL: byPiece.all.totalNLL,
                    notesPerToken: Double(byPiece.all.notes) / Double(max(1, byPiece.all.tokens)))
            } else if let decoderPrecision {
                let stepper = try bundle.stepper(memoryLength: m, precision: decoderPrecision)
                report = try Perplexity.evaluateStepwise(
                    stepper: stepper, tokens: evaluation.tokens, memoryLength: m,
                    vocabulary: bundle.tokenizer.vocabulary)
            } else if let model {
                report = try Perplexity.evaluate(
                    model: model, tokens: evaluation.tokens, batch: streams,
                    memoryLength: m, vocabulary: bundle.tokenizer.vocabulary)
            } else {
                continue
            }
            reports.append(
                report.perMusicToken(
                    controls: evaluation.controlTokens, notesPerMusicToken: evaluation.notesPerMusicToken))
            if !json, let last = reports.last {
                FileHandle.standardError.write(
                    Data(
                        ("scored mem_len \(m.map(String.init) ?? "-"): \(String(format: "%.4f", last.nllPerToken)) "
                            + "nats/token\n").utf8))
            }
        }

        let sweep = MemorySweep(points: reports, trainingMemoryLength: bundle.config.memoryLength)
        if let plot {
            let title = "\(bundle.folder.lastPathComponent): NLL on \(splitName?.rawValue ?? "all files") vs memory"
            try PNG.write(sweep.chart(title: title).render(), to: URL(fileURLWithPath: plot))
        }
        if json {
            let summary = EvalSummary(
                checkpoint: bundle.folder.path, kind: config.kind.rawValue, data: path, split: chosenSplit,
                files: evaluation.files, skippedFiles: evaluation.skipped.count,
                evaluatedTokens: evaluation.tokens.count, batch: streams,
                sameLength: config.sameLength, clampLength: config.clampLength,
                trainingMemoryLength: config.kind == .gpt2 ? nil : bundle.config.memoryLength,
                plot: plot, results: sweep.points, byPosition: byPosition ? positional : nil)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        } else {
            print("model: \(config.kind.rawValue), \(config.parameterCount) parameters, \(bundle.folder.path)")
            print(
                "data: \(scope): \(evaluation.files.counted("file")) (\(evaluation.skipped.count) skipped), "
                    + "\(evaluation.tokens.count.counted("token")), \(streams.counted("stream"))"
                    + (config.sameLength ? ", same_length" : "")
                    + (config.clampLength > 0 ? ", clamp_len \(config.clampLength)" : ""))
            print(sweep.table())
            if byPosition { print(Self.positionTable(positional)) }
            if let plot { print("wrote \(plot)") }
        }
    }

    /// `--choose-precision`: scores `tokens` with int8 and int4 weights (Transformer-XL at its
    /// training memory, or the one `--mem-len`), saves the choice and says what it is.
    private func choose(bundle: ModelFolder, tokens: [Int32], scope: String) throws {
        if ModelFolder.isBundled(bundle.folder, resourceFolders: ModelLocation.resourceFolders) {
            throw ValidationError(
                "--choose-precision writes into the model's folder, and \(bundle.folder.path) is a model bundled with "
                    + "Cadenza: copy the folder (cp -r) and measure the copy")
        }
        let choice = try bundle.measureDecoderChoice(
            tokens: tokens,
            memoryLength: bundle.config.kind == .gpt2 ? nil : memLen.first ?? bundle.config.steppingMemoryLength,
            data: scope, tolerance: tolerance,
            scored: { precision, nll in
                if !json {
                    FileHandle.standardError.write(
                        Data("scored \(precision.rawValue): \(String(format: "%.5f", nll)) nats/token\n".utf8))
                }
            })
        let (int8, int4) = (choice.nllPerToken["int8"] ?? .nan, choice.nllPerToken["int4"] ?? .nan)
        let file = bundle.folder.appendingPathComponent(ModelFolder.decodingFile).path
        if json {
            print(String(decoding: try choice.json(pretty: false), as: UTF8.self))
            return
        }
        print(
            "model: \(bundle.config.kind.rawValue), \(bundle.config.parameterCount) parameters, \(bundle.folder.path)")
        print("data: \(scope), \((tokens.count - 1).counted("token")) scored one at a time")
        print(
            String(format: "int8 %.5f, int4 %.5f nats/token: int4 costs ", int8, int4)
                + choice.int4CostText + String(format: " (tolerance %.3f %%)", 100 * tolerance))
        let reads = ModelFolder.generationPrecision(choosing: choice).rawValue
        let here =
            reads == choice.precision.rawValue ? "" : " on this CPU, whose int8 and int4 products have no vector kernel"
        print(
            "chose \(choice.precision.rawValue): `generate` reads this model's weights as \(reads)\(here) "
                + "unless --precision says otherwise (wrote \(file))")
    }

    /// NLL per token (per note in brackets) by position in the piece, one row per memory
    /// length or GPT-2 window.
    static func positionTable(_ reports: [PositionalReport]) -> String {
        guard let first = reports.first else { return "" }
        let heads = first.buckets.map { "\($0.from == 0 ? 1 : $0.from)-" + ($0.to.map { "\($0 - 1)" } ?? "") }
        var lines = [
            "NLL by position in the piece, nats/token (nats/note):",
            (["reads".padding(toLength: 15, withPad: " ", startingAt: 0)]
                + heads.map { $0.padding(toLength: 17, withPad: " ", startingAt: 0) } + ["all"])
                .joined(separator: " "),
        ]
        for r in reports {
            let name =
                r.memoryLength.map { "mem_len \($0)" } ?? "window \(r.window ?? 0)/\(r.stride ?? 0)"
            let cells = (r.buckets + [r.all]).map { b in
                b.tokens == 0
                    ? "-".padding(toLength: 17, withPad: " ", startingAt: 0)
                    : String(format: "%.4f (%.3f)", b.nllPerToken, b.nllPerNote).padding(
                        toLength: 17, withPad: " ", startingAt: 0)
            }
            lines.append(([name.padding(toLength: 15, withPad: " ", startingAt: 0)] + cells).joined(separator: " "))
        }
        let counts = (first.buckets + [first.all]).map { "\($0.tokens)" }.joined(separator: " / ")
        lines.append("targets per column: \(counts)")
        return lines.joined(separator: "\n")
    }
}

/// What `cadenza eval --json` prints: one line, snake_case keys, null for what does not apply.
struct EvalSummary: Encodable {
    var checkpoint: String, kind: String, data: String, split: String
    var files: Int, skippedFiles: Int, evaluatedTokens: Int, batch: Int
    var sameLength: Bool, clampLength: Int, trainingMemoryLength: Int?
    var plot: String?
    var results: [NLLReport]
    var byPosition: [PositionalReport]?

    private enum CodingKeys: String, CodingKey {
        case checkpoint, kind, data, split, files, skippedFiles, evaluatedTokens, batch, sameLength, clampLength,
            trainingMemoryLength, plot, results, byPosition
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(checkpoint, forKey: .checkpoint)
        try c.encode(kind, forKey: .kind)
        try c.encode(data, forKey: .data)
        try c.encode(split, forKey: .split)
        try c.encode(files, forKey: .files)
        try c.encode(skippedFiles, forKey: .skippedFiles)
        try c.encode(evaluatedTokens, forKey: .evaluatedTokens)
        try c.encode(batch, forKey: .batch)
        try c.encode(sameLength, forKey: .sameLength)
        try c.encode(clampLength, forKey: .clampLength)
        try c.encode(trainingMemoryLength, forKey: .trainingMemoryLength)
        try c.encode(plot, forKey: .plot)
        try c.encode(results, forKey: .results)
        if let byPosition { try c.encode(byPosition, forKey: .byPosition) }
    }
}
