import ArgumentParser
import Basics
import Corpus
import Foundation
import Generation
import Training

/// `cadenza fit-style --data CSV --out FOLDER`: fits the model's per-style bias
/// (`StyleBias`, docs/control.md "Style") on the openings of the training pieces of each
/// composer, the weights frozen, and writes the model with it.
struct FitStyleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit-style",
        abstract: "Fit a model's per-style output bias on each composer's training pieces (weights unchanged).",
        discussion: """
            The model reads the opening of each training piece with the piece's own Style token, as in training, \
            and the bias on its next-token logits that best predicts those pieces is fitted per style. \
            generate --style then adds that style's bias (docs/control.md, "Style"). The data must name each \
            piece's composer, as a MAESTRO-style CSV does; styles without training pieces keep the shared part \
            only. The output is a model folder: the model's own files, copied unchanged, and style-bias.json.

            Example: cadenza fit-style --data ../shared/data/maestro-asap/maestro-asap.csv --out styled/
            """)

    @Option(help: "The model: a model folder, checkpoint or run folder (default: the bundled piano model).")
    var checkpoint: String?
    @Option(help: "Training music whose pieces name their composer: a MAESTRO-style CSV (its train split is read).")
    var data: String
    @Option(name: [.short, .long], help: "The model folder to write (the model's folder itself adds only the bias).")
    var out: String
    @Option(parsing: .unconditional, help: "Tokens read from the start of each training piece.")
    var tokens = StyleBiasFitting.Options().tokens
    @Option(parsing: .unconditional, help: "Training pieces read per style at most.")
    var pieces = StyleBiasFitting.Options().piecesPerStyle
    @Option(parsing: .unconditional, help: "L2 weight pulling each style's own part towards zero.")
    var styleL2 = StyleBiasFitting.Options().styleL2
    @Option(parsing: .unconditional, help: "Transformer-XL memory while reading (default: the training memory).")
    var memLen: Int?
    @OptionGroup var threadOptions: ThreadOptions

    func validate() throws {
        guard (1...1_000_000).contains(tokens) else {
            throw ValidationError("--tokens must be 1...1000000, got \(tokens)")
        }
        guard pieces >= 1 else { throw ValidationError("--pieces must be at least 1, got \(pieces)") }
        guard styleL2.isFinite, styleL2 >= 0 else {
            throw ValidationError("--style-l2 must be 0 or more, got \(styleL2)")
        }
        if let memLen, !(0...65_536).contains(memLen) {
            throw ValidationError("--mem-len must be 0...65536, got \(memLen)")
        }
    }

    func run() throws {
        try threadOptions.apply()
        let folder = URL(fileURLWithPath: out)
        try OutputPath.checkFolder(folder)
        let bundle = try ModelLocation.bundle(checkpoint)
        let (files, _) = try CorpusSource.files(at: data, ratios: SplitRatios())
        var options = StyleBiasFitting.Options()
        options.tokens = tokens
        options.piecesPerStyle = pieces
        options.styleL2 = styleL2
        let stepper = try bundle.stepper(memoryLength: memLen, precision: .float32)
        let openings = try StyleBiasFitting.readOpenings(
            stepper: stepper, tokenizer: bundle.tokenizer, files: files, options: options
        ) { style, pieces, rows in print("read \(style): \(pieces.counted("training piece")), \(rows) music tokens") }
        let bias = StyleBiasFitting.fit(openings, tokenizer: bundle.tokenizer, options: options)
        try OutputPath.createFolder(folder)
        try Interruption.whileWriting {
            try bundle.copyFiles(to: folder)
            try bias.write(to: folder)
        }
        let fitted = bias.fittedStyles
        print(
            "wrote \(folder.appendingPathComponent(StyleBias.fileName).path): \(fitted.count.counted("style")) fitted "
                + "(\(fitted.joined(separator: ", "))); generate --style adds each one's bias")
    }
}
