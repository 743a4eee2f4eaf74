import ArgumentParser
import Basics
import Foundation
import Generation
import Models
import Tensor
import Training

/// `cadenza export`: a checkpoint's model as a bare bundle (weights, config, vocabulary), without
/// optimiser state or memory; with `--float16` at half the size. This is how the pretrained
/// model in Sources/cadenza/Resources/Pretrained was made.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract:
            "Write a checkpoint's model as a bundle (model.safetensors, model.json, vocab.json), optionally float16.",
        discussion:
            "Example (the bundled model, Benchmarks/study/bundle.sh): cadenza export --checkpoint RUN --float16 --out "
            + "Sources/cadenza/Resources/Pretrained"
    )

    @Option(help: "A checkpoint folder or a training run folder (its best checkpoint, else latest).")
    var checkpoint: String

    @Option(name: [.short, .long], help: "The folder to write the three files into (created if needed).")
    var out: String

    @Flag(help: "Store the weights as IEEE float16 (half the size; widened to float32 on load).")
    var float16 = false

    /// Whose format the export is in.
    enum Target: String, ExpressibleByArgument, CaseIterable {
        /// A Cadenza model folder.
        case cadenza
        /// The authors' Transformer-XL PyTorch code: its state dict as safetensors, and its arguments.
        case txlPytorch = "txl-pytorch"
    }

    @Option(
        help: """
            cadenza: a model folder; txl-pytorch: model.safetensors holding the state dict of the authors' \
            Transformer-XL code (load_state_dict takes it strictly), args.json with its train.py arguments, and \
            vocab.json (docs/training.md, "Models from and to PyTorch").
            """)
    var to: Target = .cadenza

    func run() throws {
        let folder = URL(fileURLWithPath: out)
        try OutputPath.checkFolder(folder)
        let (bundle, run) = try ModelLocation.checkpoint(checkpoint)
        if OutputPath.isSameFile(folder.path, bundle.folder.path) {
            // Its files would be replaced under the checkpoint's manifest (or the bundle's card).
            throw ValidationError("--out \(out) is the model's own folder: export to another folder")
        }
        if to == .txlPytorch {
            guard bundle.config.kind == .transformerXL else {
                throw CommandFailure("--to txl-pytorch exports a Transformer-XL; \(checkpoint) is a GPT-2")
            }
            let stateDict = try AuthorsStateDict.stateDict(of: bundle.weights, config: bundle.config)
            try OutputPath.createFolder(folder)
            try Interruption.whileWriting {
                // float16 halves the file; torch's load_state_dict widens it into float32 parameters.
                try stateDict.write(
                    to: folder.appendingPathComponent("model.safetensors").path, as: float16 ? .f16 : .f32)
                try AtomicFile.write(
                    AuthorsStateDict.arguments(of: bundle.config), to: folder.appendingPathComponent("args.json"))
                try bundle.tokenizer.vocabulary.save(to: folder.appendingPathComponent("vocab.json"))
            }
            print(
                "wrote \(folder.path): the authors' Transformer-XL state dict (\(float16 ? "F16" : "F32")), args.json, "
                    + "vocab.json")
            return
        }
        try ModelFolder.write(
            weights: bundle.weights, config: bundle.config, vocabulary: bundle.tokenizer.vocabulary,
            to: folder, as: float16 ? .f16 : .f32, card: bundle.card ?? run.flatMap(Self.provenance))
        // The style bias belongs to these weights: it goes with them.
        if let bias = try StyleBias.read(from: bundle.folder, for: bundle.tokenizer) { try bias.write(to: folder) }
        // So does the generation precision measured on them, where the export holds the same
        // bytes (float32); generation would otherwise choose another and write other music.
        var precisionNote = ""
        if let choice = bundle.decoderChoice {
            let exported = folder.appendingPathComponent(ModelFolder.weightsFile)
            if try DecoderChoice.checksum(ofWeightsAt: exported) == choice.weightsChecksum {
                try AtomicFile.write(choice.json(), to: folder.appendingPathComponent(ModelFolder.decodingFile))
                precisionNote = "; generation precision \(choice.precision.rawValue), as measured on these weights"
            } else {
                precisionNote =
                    "; the generation precision measured on the checkpoint (\(choice.precision.rawValue)) does not "
                    + "carry over to other weights: measure it with `cadenza eval --checkpoint \(out) "
                    + "--choose-precision`"
            }
        }
        let path = folder.appendingPathComponent(ModelFolder.weightsFile).path
        let bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        print(
            "wrote \(folder.path): \(bundle.config.kind.rawValue), \(bundle.config.parameterCount) parameters, "
                + "\(ModelFolder.weightsFile) \(String(format: "%.1f", Double(bytes) / 1_000_000)) MB "
                + "(\(float16 ? "F16" : "F32")), from \(bundle.folder.path)\(precisionNote)")
    }

    /// A model card for a model exported from a training checkpoint that has none: where it
    /// came from, what it was trained on and for how long. Its licence follows from that data's,
    /// which only the person exporting can state, so it says so.
    static func provenance(_ run: Checkpoint) -> Data? {
        let card: [String: Any] = [
            "exported_from": run.folder.path,
            "model": "\(run.modelConfig.kind.rawValue), \(run.modelConfig.parameterCount) parameters",
            "data": run.options.data.path,
            "updates": run.state.step,
            "licence": "not stated: it follows the licence of the data above",
        ]
        return try? JSONSerialization.data(
            withJSONObject: card, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    }
}
