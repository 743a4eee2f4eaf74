import ArgumentParser
import Basics
import Foundation
import Generation
import Models
import REMI
import Tensor

/// `cadenza import --from txl-pytorch STATE_DICT --vocab VOCAB --out FOLDER`: a Transformer-XL
/// trained with the authors' PyTorch code, as a Cadenza model folder.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Turn a Transformer-XL trained with the authors' PyTorch code into a Cadenza model folder.",
        discussion: """
            STATE_DICT is the model's state dict saved as safetensors (a .pt file is a Python pickle, which \
            Cadenza does not run: docs/training.md, "Models from and to PyTorch", converts it in one line). \
            The sizes are read off the weights; the vocabulary is the vocab.json of the tokens the model was \
            trained on (`cadenza tokenize --format npy` writes it beside them). `generate` and `eval` then take \
            the folder as --model or --checkpoint.
            """)

    /// Where a model comes from.
    enum Source: String, ExpressibleByArgument, CaseIterable {
        /// The authors' Transformer-XL code (kimiyoung/transformer-xl, `MemTransformerLM`).
        case txlPytorch = "txl-pytorch"
    }

    @Argument(help: "The state dict, as a .safetensors file.")
    var stateDict: String

    @Option(help: "Where the model comes from: txl-pytorch (the authors' Transformer-XL code).")
    var from: Source

    @Option(help: "The vocab.json of the tokens the model was trained on.")
    var vocab: String

    @Option(name: [.short, .long], help: "The model folder to write (created if needed).")
    var out: String

    @Option(
        help: """
            The authors' train.py arguments as JSON (as `export --to txl-pytorch` writes them): tgt_len, mem_len, \
            dropout, dropatt, clamp_len and same_length are taken from it.
            """)
    var args: String?

    @Option(
        parsing: .unconditional,
        help: "Segment length the model was trained with (the authors' --tgt_len), when --args does not say.")
    var segLen = 128

    @Option(
        parsing: .unconditional,
        help: "Memory length the model was trained with (the authors' --mem_len), when --args does not say.")
    var memLen = 256

    func validate() throws {
        let folder = URL(fileURLWithPath: out)
        try checkOutputs(
            (ModelFolder.modelFiles + [ModelFolder.cardFile]).map {
                ("--out's \($0)", folder.appendingPathComponent($0).path)
            },
            notAnyOf: [("the state dict", stateDict), ("--vocab", vocab), ("--args", args)])
        if !(1...ModelConfig.maximumLength).contains(segLen) || !(0...ModelConfig.maximumLength).contains(memLen) {
            throw ValidationError("--seg-len and --mem-len must be 1...\(ModelConfig.maximumLength)")
        }
        if [".pt", ".pth", ".bin"].contains(where: stateDict.lowercased().hasSuffix) {
            throw ValidationError(
                "\(stateDict) is a PyTorch pickle, which Cadenza does not run: save the state dict as safetensors "
                    + "first (docs/training.md, \"Models from and to PyTorch\")")
        }
    }

    func run() throws {
        let folder = URL(fileURLWithPath: out)
        try OutputPath.checkFolder(folder)
        let file: SafetensorsFile
        do { file = try SafetensorsFile(contentsOf: stateDict) } catch let error as SafetensorsError {
            if case .unreadable = error { throw error }  // already names the file
            throw CommandFailure("--state-dict \(stateDict): \(error)")
        }
        let vocabulary = try Vocabulary.load(from: URL(fileURLWithPath: vocab))
        var (config, weights) = try AuthorsStateDict.configuration(
            of: file, segmentLength: segLen, memoryLength: memLen)
        if let args {
            let arguments = try FileContents.data(at: URL(fileURLWithPath: args))
            do { config = try AuthorsStateDict.applying(arguments: arguments, to: config) } catch {
                throw CommandFailure("--args \(args): \(error)")
            }
        }
        guard config.vocabularySize == vocabulary.count else {
            throw CommandFailure(
                "\(stateDict) has \(config.vocabularySize) tokens and \(vocab) \(vocabulary.count): "
                    + "give the vocabulary the model was trained with")
        }
        try ModelFolder.write(weights: weights, config: config, vocabulary: vocabulary, to: folder)
        print(
            "wrote \(folder.path): transformer-xl, \(config.layers) layers, d_model \(config.modelWidth), "
                + "\(config.heads) heads of \(config.headSize), inner \(config.innerWidth), "
                + "\(config.vocabularySize) tokens, \(config.parameterCount) parameters")
    }
}
