import ArgumentParser
import Foundation
import Generation
import MIDI
import REMI
import Tensor
import Training

/// `cadenza generate`: new music from a model, from scratch or continuing a prompt.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write new music as MIDI with a trained model (the bundled one by default).",
        discussion: """
        Tokens are drawn one at a time; by default only tokens that keep the REMI grammar valid \
        may be drawn, so every piece decodes to well-formed music. See docs/generation.md.
        """)

    @Option(help: "Model: a checkpoint folder or a training run folder (its best checkpoint, else latest). Default: the pretrained model bundled with Cadenza.")
    var checkpoint: String?

    @Option(help: "A MIDI file to continue.")
    var prompt: String?

    @Option(help: "How many bars of the prompt to keep (default: 4).")
    var promptBars: Int = 4

    @Option(help: "New bars to write (default: 16 when --tokens is not given).")
    var bars: Int?

    @Option(help: "New tokens to write instead of a number of bars.")
    var tokens: Int?

    @Option(help: "Sampling temperature: below 1 safer, above 1 wilder, 0 always the most likely token. The default, with top-p 0.9, gave the pieces closest to real music of the settings measured (docs/generation.md).")
    var temperature: Float = Sampler.recommendedTemperature

    @Option(help: "Draw only from the K most likely tokens (0: off).")
    var topK: Int = 0

    @Option(help: "Draw only from the most likely tokens whose probabilities sum to P (1: off).")
    var topP: Float = Sampler.recommendedTopP

    @Option(help: "Random seed; piece i uses seed + i. Default: drawn from the clock and printed.")
    var seed: UInt64?

    @Option(help: "Number of pieces.")
    var count: Int = 1

    @Option(name: .shortAndLong, help: "Output: a .mid file, or a folder for several pieces (default: generated.mid, or generated/ with --count > 1).")
    var out: String?

    @Option(help: "Also write the token ids: a .remi token file, or a readable listing when the name ends in .txt.")
    var tokensOut: String?

    @Option(help: "Transformer-XL memory length while generating, in tokens (default: the model's training mem_len; may be longer).")
    var memLen: Int?

    @Option(help: "How the model's weights are read while generating: int8 (the default where the CPU has AVX-512 VNNI, else float16; 1.4-1.8x float16; rows rounded to 8 bits, NLL change below 0.01 %), float16 (exact for float16 models such as the bundled one) or float32 (the model's exact numbers).")
    var precision: DecoderMatrix.Precision = .fastest

    @Flag(help: "Sample without the REMI grammar constraint and report how often the grammar is broken.")
    var noGrammar = false

    @Flag(help: "Never draw End Of Piece: always write the requested bars or tokens (needs the grammar constraint).")
    var ignoreEnd = false

    func validate() throws {
        if bars != nil && tokens != nil { throw ValidationError("give --bars or --tokens, not both") }
        if let bars, bars < 1 { throw ValidationError("--bars must be at least 1, got \(bars)") }
        if let tokens, tokens < 1 { throw ValidationError("--tokens must be at least 1, got \(tokens)") }
        if promptBars < 1 { throw ValidationError("--prompt-bars must be at least 1, got \(promptBars)") }
        if ignoreEnd && noGrammar { throw ValidationError("--ignore-end works through the grammar constraint: drop --no-grammar") }
        if count < 1 { throw ValidationError("--count must be at least 1, got \(count)") }
        if let memLen, memLen < 1 { throw ValidationError("--mem-len must be at least 1, got \(memLen)") }
        _ = try Sampler(temperature: temperature, topK: topK, topP: topP)
    }

    func run() throws {
        let bundle = try ModelLocation.bundle(checkpoint)
        let stepper = try bundle.stepper(memoryLength: memLen, precision: precision)
        let generator = try Generator(stepper: stepper, vocabulary: bundle.tokenizer.vocabulary,
                                      sampler: Sampler(temperature: temperature, topK: topK, topP: topP),
                                      constrainedToGrammar: !noGrammar)
        let promptIDs = try prompt.map { try bundle.tokenizer.prompt(from: MIDIFile(contentsOf: URL(fileURLWithPath: $0)), bars: promptBars) } ?? []
        let stop = try StopCondition(bars: tokens == nil ? (bars ?? 16) : nil, tokens: tokens, allowsEndOfPiece: !ignoreEnd)
        let firstSeed = seed ?? UInt64(Date().timeIntervalSince1970 * 1000) % 1_000_000
        let outputs = OutputNames(out: out, tokensOut: tokensOut, count: count)
        print("model: \(bundle.config.kind.rawValue), \(bundle.config.parameterCount) parameters, from \(bundle.folder.path)")
        if seed == nil { print("seed: \(firstSeed) (pass --seed \(firstSeed) to get the same music again)") }

        var violations = 0, generated = 0
        for i in 0..<count {
            let pieceSeed = firstSeed &+ UInt64(i)
            var random = SeededGenerator(seed: pieceSeed)
            let line = ProgressLine(target: stop, label: count > 1 ? "piece \(i + 1)/\(count) " : "")
            let piece = try generator.generate(prompt: promptIDs, stop: stop, generator: &random, progress: line.update)
            line.finish()
            let midiURL = try outputs.midi(seed: pieceSeed)
            try bundle.tokenizer.decode(ids: piece.ids).write(to: midiURL)
            if let tokensURL = try outputs.tokens(seed: pieceSeed) {
                if tokensURL.pathExtension == "txt" {
                    try Data((bundle.tokenizer.dump(ids: piece.ids) + "\n").utf8).write(to: tokensURL)
                } else {
                    try TokenFile(vocabulary: bundle.tokenizer.vocabulary, ids: piece.ids).write(to: tokensURL)
                }
            }
            let rate = piece.seconds > 0 ? Double(piece.newIDs.count) / piece.seconds : 0
            print("wrote \(midiURL.path): seed \(pieceSeed), \(piece.bars) new bars, \(piece.notes) notes, "
                  + "\(piece.newIDs.count) new tokens in \(String(format: "%.1f", piece.seconds)) s "
                  + "(\(Int(rate)) tokens/s), stopped at \(piece.stopReason.rawValue)")
            violations += piece.grammarViolations
            generated += piece.newIDs.count
        }
        if noGrammar {
            let share = generated > 0 ? 100 * Double(violations) / Double(generated) : 0
            print("grammar: \(violations) of \(generated) sampled tokens broke the REMI grammar (\(String(format: "%.2f", share))%)")
        }
    }
}

/// Where a command's model comes from: `--checkpoint`, or the pretrained model in the package
/// resources.
enum ModelLocation {
    /// The model folder `path` names (a checkpoint or a run folder), or the pretrained model.
    static func bundle(_ path: String?) throws -> ModelBundle {
        guard let path else {
            for resources in resourceFolders {
                if let folder = ModelBundle.pretrained(in: resources) { return try ModelBundle.read(folder) }
            }
            throw ModelBundleError.noPretrainedModel
        }
        return try checkpoint(path).bundle
    }

    /// The model `path` names and, when it is a training checkpoint (or run), that checkpoint:
    /// a run folder gives its `best` checkpoint, else its `latest` (`Checkpoint.locate`), and a
    /// checkpoint's manifest is checked before its weights are read. A folder with only the
    /// three model files (an exported or bundled model) has no checkpoint.
    static func checkpoint(_ path: String) throws -> (bundle: ModelBundle, checkpoint: Checkpoint?) {
        let url = URL(fileURLWithPath: path)
        if ModelBundle.isBundle(url) && !FileManager.default.fileExists(atPath: url.appendingPathComponent("state.json").path) {
            return (try ModelBundle.read(url), nil)
        }
        let checkpoint = try Checkpoint.read(Checkpoint.locate(path, preferBest: true))
        return (try ModelBundle.read(checkpoint.folder), checkpoint)
    }

    /// Where the package resources (Sources/cadenza/Resources) may be: the resource bundle
    /// SwiftPM puts beside the executable (Linux `.resources`, macOS `.bundle`), then the
    /// source tree this binary was built from. Looked up by hand rather than through
    /// `Bundle.module`, which stops the program when its bundle has been moved away.
    static var resourceFolders: [URL] {
        let beside = Bundle.main.bundleURL
        return [beside.appendingPathComponent("Cadenza_cadenza.resources"),
                beside.appendingPathComponent("Cadenza_cadenza.bundle/Contents/Resources"),
                beside.appendingPathComponent("Cadenza_cadenza.bundle"),
                URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources")]
    }
}

/// The file names of `--out` and `--tokens-out` for each piece.
struct OutputNames {
    let out: String?, tokensOut: String?, count: Int

    /// The MIDI file of the piece drawn with `seed`.
    func midi(seed: UInt64) throws -> URL {
        try name(out ?? (count == 1 ? "generated.mid" : "generated"), seed: seed, fileExtensions: ["mid", "midi"])
    }

    /// The token file of the piece drawn with `seed`, if asked for.
    func tokens(seed: UInt64) throws -> URL? {
        try tokensOut.map { try name($0, seed: seed, fileExtensions: ["remi", "txt"]) }
    }

    /// One piece: the name itself. Several: `<folder>/piece-<seed>.<ext>`, or
    /// `<stem>-<seed>.<ext>` when the name is a file name. A name is a file name when it ends
    /// in one of `fileExtensions` (the first is the default) and is not an existing folder, so
    /// a folder such as `takes-t1.1` stays a folder.
    static func isFileName(_ url: URL, fileExtensions: [String]) -> Bool {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
        return fileExtensions.contains(url.pathExtension.lowercased()) && !(exists && isFolder.boolValue)
    }

    private func name(_ given: String, seed: UInt64, fileExtensions: [String]) throws -> URL {
        let url = URL(fileURLWithPath: given)
        let fileExtension = fileExtensions[0]
        let isFile = Self.isFileName(url, fileExtensions: fileExtensions)
        if count == 1 && isFile { return url }
        if isFile {
            let stem = url.deletingPathExtension().lastPathComponent
            return url.deletingLastPathComponent().appendingPathComponent("\(stem)-\(seed).\(url.pathExtension)")
        }
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url.appendingPathComponent("piece-\(seed).\(fileExtension)")
    }
}

/// A one-line progress display on a terminal (bars, tokens, tokens/s), redrawn at most ten
/// times a second; silent when standard error is not a terminal.
final class ProgressLine {
    private let target: StopCondition, label: String
    private let enabled = isatty(STDERR_FILENO) != 0
    private var lastDraw = -1.0

    init(target: StopCondition, label: String) {
        self.target = target
        self.label = label
    }

    func update(_ p: GenerationProgress) {
        guard enabled, p.seconds - lastDraw >= 0.1 else { return }
        lastDraw = p.seconds
        let bars = target.bars.map { "bar \(min(p.bars, $0))/\($0)" } ?? "bar \(p.bars)"
        let tokens = target.tokens.map { "\(p.tokens)/\($0) tokens" } ?? "\(p.tokens) tokens"
        FileHandle.standardError.write(Data("\r\(label)\(bars) · \(tokens) · \(Int(p.tokensPerSecond)) tokens/s   ".utf8))
    }

    func finish() {
        if enabled && lastDraw >= 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
