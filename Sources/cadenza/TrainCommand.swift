import Corpus
import Basics
import ArgumentParser
import Foundation
import Generation
import Models
import REMI
import Tensor
import Training

/// `cadenza train`: a folder of MIDI (or a list, or a MAESTRO-style CSV) to a trained model.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a Transformer-XL or GPT-2 on MIDI files, with checkpoints that survive interruption.",
        discussion: """
            New run:   cadenza train --data DIR|LIST|CSV --model txl --preset small --out RUN [--steps N | --epochs N]
            Fine-tune: cadenza train --data DIR|LIST|CSV --init-from pretrained|RUN|DIR --out RUN [--steps N] [--lr LR]
            Continue:  cadenza train --resume RUN [--steps N]
            Ctrl-C or SIGTERM writes a checkpoint before stopping. See docs/training.md.
            """)

    @Option(help: "MIDI data: a folder (searched recursively), a text file listing paths, or a MAESTRO-style CSV.")
    var data: String?
    @Option(
        help: "Architecture: txl (Transformer-XL) or gpt2; transformer-xl and gpt-2 are accepted too (default: txl).")
    var model: ModelKind?
    @Option(help: "Model size: tiny or small (default: small).")
    var preset: String?
    @Option(help: "A model config JSON file (overrides --preset; n_token must match the tokenizer).")
    var config: String?
    @Option(help: "A REMI tokenizer config JSON file (default: the original REMI settings).")
    var tokenizerConfig: String?
    @Option(help: "The run folder: checkpoints latest/ and best/, metrics.jsonl.")
    var out: String?
    @Option(help: "Continue the run in this folder from its latest checkpoint.")
    var resume: String?
    @Option(
        help:
            .init(
                "Fine-tune: start a new run from this model's weights, config and vocabulary ('pretrained' for the "
                    + "bundled "
                    + "model, or a run, checkpoint or exported folder), with a fresh optimiser and schedule.")
    )
    var initFrom: String?
    @Option(parsing: .unconditional, help: "Optimiser updates in total (default 1000).")
    var steps: Int?
    @Option(parsing: .unconditional, help: "Passes over the training split instead of --steps.")
    var epochs: Int?
    @Option(parsing: .unconditional, help: "Streams (TXL) or windows (GPT-2) per update.")
    var batch: Int = 16
    @Option(
        parsing: .unconditional, help: "Tokens per segment (TXL) or context window (GPT-2) (default: the preset's).")
    var segLen: Int?
    @Option(parsing: .unconditional, help: "Memory rows per layer, Transformer-XL (default: the preset's).")
    var memLen: Int?
    @Option(parsing: .unconditional, help: "Peak learning rate (default 2.5e-4).")
    var lr: Float?
    @Option(
        parsing: .unconditional,
        help: "Linear warm-up updates before the cosine decay (default: a tenth of the steps, at most 1000).")
    var warmup: Int?
    @Option(parsing: .unconditional, help: "Global gradient-norm clip (default 0.25 for TXL, 1.0 for GPT-2).")
    var clip: Float?
    @Option(parsing: .unconditional, help: "Seed of every random choice.")
    var seed: UInt64 = 1
    @Option(parsing: .unconditional, help: "Validate every N updates (0: only at the end).")
    var evalEvery: Int?
    @Option(parsing: .unconditional, help: "Write the latest checkpoint every N updates.")
    var saveEvery: Int?
    @Option(parsing: .unconditional, help: "Validation reads at most this many tokens (0: the whole validation split).")
    var evalTokens: Int = 65_536
    @OptionGroup var splitRatios: SplitRatioOptions
    @Option(help: "Token cache folder (default ~/.cache/cadenza/tokens).")
    var cache: String?
    @Flag(help: "Tokenize every file again and keep nothing.")
    var noCache = false
    @Flag(help: "No transposition, velocity or tempo augmentation.")
    var noAugment = false
    @Flag(
        help: """
            Add the control tokens (style, key, density, infilling; docs/control.md) to the vocabulary and \
            train with them. With --init-from, the model's vocabulary grows and its weights are kept.
            """)
    var controls = false
    @Option(
        help: """
            The style of pieces whose corpus names none (a CSV's style or canonical_composer column names one), \
            e.g. pop for a folder of pop songs.
            """)
    var style: String?
    @Option(
        parsing: .unconditional,
        help: """
            With control tokens: mean bars between two infilling examples in a training piece (fewer bars, more \
            examples; docs/control.md).
            """)
    var infillEvery: Int?
    @Option(
        parsing: .unconditional,
        help: """
            With control tokens: bars before an infilling gap restated after Infill_Middle, 0...4 (docs/control.md; \
            the model keeps it for generation).
            """)
    var infillBridge: Int?
    @Option(
        help: """
            Arithmetic of the updates' matrix products: float32; bf16 (operands rounded to bfloat16, sums, \
            weights and optimiser in float32; needs AVX-512 BF16, else float32); or fp16 (operands scaled and \
            rounded to float16, sums of 32 in float16 then float32; needs AVX-512 FP16, else float32). \
            `cadenza doctor` says which pays on this CPU. Validation is float32.
            """)
    var precision: GEMM.Precision?
    @OptionGroup var threadOptions: ThreadOptions
    @Option(parsing: .unconditional, help: "Updates between plain progress lines (and live-line newlines).")
    var logEvery: Int = 10

    func validate() throws {
        if resume != nil {
            let fixed: [(String, Bool)] = [
                ("--data", data != nil), ("--config", config != nil), ("--out", out != nil),
                ("--tokenizer-config", tokenizerConfig != nil), ("--epochs", epochs != nil),
                ("--seg-len", segLen != nil), ("--mem-len", memLen != nil), ("--lr", lr != nil),
                ("--warmup", warmup != nil), ("--clip", clip != nil), ("--init-from", initFrom != nil),
                ("--model", model != nil), ("--preset", preset != nil), ("--batch", batch != 16),
                ("--seed", seed != 1), ("--validation-ratio", splitRatios.validationRatio != nil),
                ("--test-ratio", splitRatios.testRatio != nil), ("--no-augment", noAugment),
                ("--eval-tokens", evalTokens != 65_536), ("--controls", controls), ("--style", style != nil),
                ("--infill-every", infillEvery != nil), ("--infill-bridge", infillBridge != nil),
                ("--precision", precision != nil),
            ]
            if let (name, _) = fixed.first(where: { $0.1 }) {
                throw ValidationError(
                    "\(name) cannot be changed when resuming: a resumed run keeps its settings (only --steps, "
                        + "--eval-every, --save-every, --threads)"
                )
            }
        } else {
            guard data != nil else { throw ValidationError("--data is required (or --resume RUN)") }
            let bridges = TokenizerConfig.infillBridgeRange
            if let infillBridge, !bridges.contains(infillBridge) {
                throw ValidationError(
                    "--infill-bridge must be \(bridges.lowerBound)...\(bridges.upperBound) bars (got \(infillBridge))")
            }
            if let infillEvery, infillEvery < 1 {
                throw ValidationError("--infill-every must be at least 1 bar (got \(infillEvery))")
            }
            guard out != nil else {
                throw ValidationError("--out RUN is required: the folder for checkpoints and metrics")
            }
            if initFrom != nil {
                let fixed: [(String, Bool)] = [
                    ("--model", model != nil), ("--preset", preset != nil), ("--config", config != nil),
                ]
                if let (name, _) = fixed.first(where: { $0.1 }) {
                    throw ValidationError(
                        "\(name) cannot be given with --init-from: the model, its size and its vocabulary come from "
                            + "the model fine-tuned"
                    )
                }
            }
            if let preset, !ModelConfig.presetNames.contains(preset) {
                throw ValidationError(
                    "--preset must be one of \(ModelConfig.presetNames.joined(separator: ", ")), got '\(preset)'")
            }
            guard steps == nil || epochs == nil else { throw ValidationError("give --steps or --epochs, not both") }
        }
        for (name, value, least) in [
            ("--steps", steps, 1), ("--epochs", epochs, 1), ("--batch", Optional(batch), 1),
            ("--seg-len", segLen, 1), ("--mem-len", memLen, 0), ("--warmup", warmup, 0),
            ("--eval-every", evalEvery, 0), ("--save-every", saveEvery, 1),
            ("--log-every", Optional(logEvery), 1), ("--eval-tokens", Optional(evalTokens), 0),
        ] {
            if let value, value < least { throw ValidationError("\(name) must be at least \(least), got \(value)") }
        }
        for (name, value) in [("--batch", Optional(batch)), ("--seg-len", segLen), ("--mem-len", memLen)] {
            if let value, value > ModelConfig.maximumLength {
                throw ValidationError("\(name) must be at most \(ModelConfig.maximumLength), got \(value)")
            }
        }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, got \(lr)") }
        if let clip, !(clip > 0 && clip.isFinite) {
            throw ValidationError("--clip must be a positive number, got \(clip)")
        }
    }

    func run() throws {
        try threadOptions.apply()
        // Under `mpirun` every process of the job runs this; see docs/training.md, "Data-parallel training".
        let group = try ProcessGroup.fromEnvironment()
        if group.size > 1, threadOptions.threads == nil, ProcessInfo.processInfo.environment["CADENZA_THREADS"] == nil,
            let local = OpenMPI.localProcessCount, local > 1
        {
            // The processes on one host share its cores.
            try GEMM.setThreadCount(max(1, GEMM.threadCount / local))
        }
        do {
            _ = try train(group: group)
        } catch {
            // One process's error must end the job, not leave the others waiting in a collective.
            if group.size > 1 {
                FileHandle.standardError.write(Data("error (rank \(group.rank)): \(error)\n".utf8))
                group.abort(status: 1)
            }
            throw error
        }
        group.finish()
        // A signal after the last update (while the generation precision is measured) stops too.
        if Interruption.isRequested { throw ExitCode(Interruption.exitStatus) }
    }

    private func train(group: ProcessGroup) throws -> TrainingSummary {
        if let out { try OutputPath.checkFolder(URL(fileURLWithPath: out)) }
        // Under mpirun the output reaches the user through mpirun (no live line); one process speaks.
        let progress =
            group.size == 1
            ? ProgressPrinter(every: logEvery)
            : ProgressPrinter(every: logEvery, isTerminal: false, write: group.isLeader ? nil : { _ in })
        let summary: TrainingSummary
        if let resume {
            summary = try TrainingRun.resume(
                run: URL(fileURLWithPath: resume), steps: steps, evalEvery: evalEvery,
                saveEvery: saveEvery, group: group, progress: progress)
        } else {
            let kind = model ?? .transformerXL
            var tokenizer: REMITokenizer
            var modelConfig: ModelConfig
            var initial: ModelFolder?
            if let initFrom {
                let bundle = try ModelLocation.bundle(initFrom)
                (modelConfig, tokenizer, initial) = (bundle.config, bundle.tokenizer, bundle)
                if let tokenizerConfig {
                    tokenizer = try Self.extending(
                        bundle.tokenizer, with: try TokenizerConfig.load(from: URL(fileURLWithPath: tokenizerConfig)),
                        model: initFrom)
                    modelConfig.vocabularySize = tokenizer.vocabulary.count
                }
                if let segLen, bundle.config.kind == .gpt2, segLen > bundle.config.positions {
                    throw ValidationError(
                        "--seg-len \(segLen) is longer than the \(bundle.config.positions) positions of the GPT-2 in "
                            + "\(initFrom)"
                    )
                }
            } else {
                tokenizer = try REMITokenizer(
                    config: tokenizerConfig.map { try TokenizerConfig.load(from: URL(fileURLWithPath: $0)) }
                        ?? TokenizerConfig())
                if let config {
                    modelConfig = try readModelConfig(config)
                } else {
                    modelConfig = try ModelConfig.preset(
                        named: preset ?? "small", kind: kind, vocabularySize: tokenizer.vocabulary.count)
                }
            }
            if let segLen {
                modelConfig.segmentLength = segLen
                // The model's own kind, not the flag's: `--config gpt2.json --seg-len N` needs the positions too.
                if modelConfig.kind == .gpt2 { modelConfig.positions = max(modelConfig.positions, segLen) }
            }
            if let memLen { modelConfig.memoryLength = memLen }
            let defaultStyle = style.flatMap(CorpusFile.styleName)
            if controls && !tokenizer.hasControls {
                tokenizer = try REMITokenizer(
                    config: try Self.withControls(
                        tokenizer.config, data: data ?? "", ratios: splitRatios.ratios(), defaultStyle: defaultStyle))
                modelConfig.vocabularySize = tokenizer.vocabulary.count
            }
            if let infillBridge {
                guard tokenizer.hasControls else {
                    throw ValidationError("--infill-bridge needs the control tokens: add --controls")
                }
                var config = tokenizer.config
                config.infillBridgeBars = infillBridge
                tokenizer = try REMITokenizer(config: config)
            }
            // Kept absolute: `eval` and `--resume` read it again from wherever they are run.
            var dataOptions = DataOptions(
                path: data.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? "",
                ratios: splitRatios.ratios(),
                cacheFolder: noCache ? nil : (cache ?? TokenCache.defaultFolder.path),
                augmentation: noAugment ? .none : .standard)
            if tokenizer.hasControls {
                var arrangement = ControlArrangement()
                if let infillEvery { arrangement.barsPerGap = infillEvery }
                dataOptions.controls = arrangement
                dataOptions.defaultStyle = defaultStyle
            }
            var options = TrainingOptions.defaults(for: modelConfig.kind, data: dataOptions, steps: steps ?? 1000)
            options.initializedFrom = initial?.folder.path
            options.batch = batch
            options.seed = seed
            options.evalTokens = evalTokens
            if let lr { options.learningRate = lr }
            if let warmup { options.warmupSteps = warmup }
            if let clip { options.clip = clip }
            if let evalEvery { options.evalEvery = evalEvery }
            if let saveEvery { options.saveEvery = saveEvery }
            if let precision, precision != .float32 { options.precision = precision }
            try modelConfig.checkFitsInMemory(batch: batch)
            summary = try TrainingRun.start(
                run: URL(fileURLWithPath: out ?? ""), modelConfig: modelConfig, tokenizer: tokenizer,
                options: options, epochs: epochs, warmupGiven: warmup != nil, initialWeights: initial?.weights,
                group: group, progress: progress)
        }
        return summary
    }

    /// A tokenizer for `config` whose vocabulary starts with every token of `tokenizer`'s, in
    /// the same order, so that a model trained with `tokenizer` keeps the meaning of its ids
    /// (instruments and metres add their tokens after the seed's).
    static func extending(_ tokenizer: REMITokenizer, with config: TokenizerConfig, model: String) throws
        -> REMITokenizer
    {
        let grown = try REMITokenizer(config: config)
        let old = tokenizer.vocabulary, new = grown.vocabulary
        let kept = old.events.indices.prefix {
            $0 < new.count && old.name(of: old.events[$0]) == new.name(of: new.events[$0])
        }
        guard kept.count == old.count else {
            let id = kept.count
            throw CommandFailure(
                "--tokenizer-config must keep the ids of \(model): its id \(id) is "
                    + (id < new.count ? "'\(new.name(of: new.events[id]))'" : "missing")
                    + ", the model's is '\(old.name(of: old.events[id]))'. A config with the same settings plus "
                    + "instruments or metres keeps them (docs/remi.md)")
        }
        return grown
    }

    /// The fewest training pieces a style needs to get its token.
    static let minimumStylePieces = 5

    /// `config` with the control tokens on and a style for every style with at least
    /// `minimumStylePieces` training pieces in the corpus at `data`, sorted by name.
    static func withControls(
        _ config: TokenizerConfig, data: String, ratios: SplitRatios, defaultStyle: String?
    ) throws -> TokenizerConfig {
        let (files, _) = try CorpusSource.files(at: data, ratios: ratios)
        var counts: [String: Int] = [:]
        for file in files where file.split == .train {
            if let style = file.style ?? defaultStyle { counts[style, default: 0] += 1 }
        }
        var config = config
        config.controls = true
        config.styles = counts.filter { $0.value >= minimumStylePieces }.keys.sorted()
        return config
    }
}
