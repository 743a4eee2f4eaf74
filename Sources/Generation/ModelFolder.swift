import Basics
import Foundation
import Models
import REMI
import Tensor

/// What a model needs to make music: weights, config and vocabulary, read from a folder.
///
/// The folder holds the files a training checkpoint holds (Sources/Training/Checkpoint.swift):
/// `model.safetensors` (reference parameter names; F32, F16 or BF16, widened to float32 on
/// load), `model.json` (the `ModelConfig`) and `vocab.json` (the REMI vocabulary with its
/// tokenizer config). A training checkpoint is a model folder with more files (the optimiser,
/// the trainer's state; Sources/Training/Checkpoint.swift), and so is the pretrained
/// model shipped with Cadenza, which carries only these three files (no optimizer state).
public struct ModelFolder {
    /// The model's sizes and switches.
    public var config: ModelConfig
    /// The tokenizer the ids belong to.
    public var tokenizer: REMITokenizer
    /// The weights.
    public var weights: SafetensorsFile
    /// Where it was read from.
    public var folder: URL
    /// The model card (`model-card.json`): a JSON object saying where the model came from and
    /// under which licence it may be used; nil when the folder has none.
    public var card: Data?
    /// The weight precision measured as this model's best for generating (`decoding.json`,
    /// written at the end of `cadenza train` or by `cadenza eval --choose-precision`); nil when
    /// the folder has none, or one
    /// measured on other weights (`ignoredDecoderChoice` then says why).
    public var decoderChoice: DecoderChoice?
    /// Why a `decoding.json` in the folder is not used; nil when there is none or it is used.
    public var ignoredDecoderChoice: String?

    /// The precision generation reads the weights in when none is asked for: the measured
    /// `decoderChoice` where this CPU's int8 and int4 products have a vector kernel (int4 has
    /// no fast plain path), else `DecoderMatrix.Precision.fastest`.
    public var generationPrecision: DecoderMatrix.Precision { Self.generationPrecision(choosing: decoderChoice) }

    /// The precision generation reads a model's weights in on this CPU when `choice` was
    /// measured for it (`generationPrecision`).
    public static func generationPrecision(choosing choice: DecoderChoice?) -> DecoderMatrix.Precision {
        if let choice, DecoderMatrix.Precision.fastest == .int8 { return choice.precision }
        return .fastest
    }

    /// The card's entries as text, sorted by key (empty without a card).
    public var cardEntries: [(key: String, value: String)] {
        guard let card, let object = try? JSONSerialization.jsonObject(with: card) as? [String: Any] else { return [] }
        return object.keys.sorted().map { ($0, object[$0].map { "\($0)" } ?? "") }
    }

    /// The file names inside a model folder: read and written only here.
    public static let weightsFile = "model.safetensors", configFile = "model.json", vocabularyFile = "vocab.json"
    /// The optional model card's file name.
    public static let cardFile = "model-card.json"
    /// The optional measured decoder precision's file name (`DecoderChoice`).
    public static let decodingFile = "decoding.json"

    /// Whether `folder` holds the three files of a model.
    public static func holdsModel(_ folder: URL) -> Bool { missingModelFiles(in: folder).isEmpty }

    /// The files every model folder holds: weights, config and vocabulary.
    public static let modelFiles = [weightsFile, configFile, vocabularyFile]

    /// Which of `modelFiles` `folder` lacks.
    public static func missingModelFiles(in folder: URL) -> [String] {
        modelFiles.filter {
            !FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
        }
    }

    /// Reads the model in `folder`, checking that config, vocabulary and weights fit together.
    public static func read(_ folder: URL) throws -> ModelFolder {
        func fail(_ reason: String) -> ModelFolderError { .unreadable(path: folder.path, reason: reason) }
        let missing = missingModelFiles(in: folder)
        guard missing.isEmpty else {
            throw fail(
                "\(missing.joined(separator: " and ")) missing: a model folder holds \(weightsFile), \(configFile) "
                    + "and \(vocabularyFile)")
        }
        let weights: SafetensorsFile
        let (config, vocabulary) = try description(of: folder).mapError { fail($0.reason) }.get()
        do { weights = try SafetensorsFile(contentsOf: folder.appendingPathComponent(weightsFile).path) } catch {
            throw fail("\(weightsFile): \(error)")
        }
        let card = try? FileContents.data(at: folder.appendingPathComponent(cardFile))
        var model = ModelFolder(
            config: config, tokenizer: REMITokenizer(vocabulary: vocabulary), weights: weights, folder: folder,
            card: card.flatMap { (try? JSONSerialization.jsonObject(with: $0)) is [String: Any] ? $0 : nil })
        (model.decoderChoice, model.ignoredDecoderChoice) = readDecoderChoice(in: folder)
        return model
    }

    /// The folder's `decoding.json` when it was measured on the folder's weights, else nil and
    /// why it is not used (nil and nil when there is none).
    static func readDecoderChoice(in folder: URL) -> (DecoderChoice?, String?) {
        let url = folder.appendingPathComponent(decodingFile)
        guard FileManager.default.fileExists(atPath: url.path) else { return (nil, nil) }
        let choice: DecoderChoice
        do { choice = try DecoderChoice.decode(FileContents.data(at: url)) } catch {
            return (
                nil,
                "\(decodingFile) cannot be read (\(JSONKeys.describe(error))); measure again with "
                    + "`cadenza eval --choose-precision`"
            )
        }
        guard let checksum = try? DecoderChoice.checksum(ofWeightsAt: folder.appendingPathComponent(weightsFile)),
            checksum == choice.weightsChecksum
        else {
            return (
                nil,
                "\(decodingFile) was measured on other weights; measure again with `cadenza eval --choose-precision`"
            )
        }
        return (choice, nil)
    }

    /// Writes `choice` as this folder's `decoding.json` (whole, `AtomicFile`), after checking
    /// that it was measured on the weights the folder holds now.
    public func save(_ choice: DecoderChoice) throws {
        let weightsURL = folder.appendingPathComponent(Self.weightsFile)
        guard try DecoderChoice.checksum(ofWeightsAt: weightsURL) == choice.weightsChecksum else {
            throw ModelFolderError.unreadable(
                path: folder.path, reason: "\(Self.weightsFile) changed while its precision was being measured")
        }
        try AtomicFile.write(choice.json(), to: folder.appendingPathComponent(Self.decodingFile))
    }

    /// The config and vocabulary of the model in `folder`, checked against each other; the
    /// reason in words when they cannot be read or do not belong together. A training
    /// checkpoint reads its model's description through this too.
    public static func description(of folder: URL) -> Result<(ModelConfig, Vocabulary), DescriptionProblem> {
        let config: ModelConfig, vocabulary: Vocabulary
        do {
            config = try ModelConfig.decode(
                json: FileContents.data(at: folder.appendingPathComponent(configFile)),
                source: configFile)
        } catch {
            return .failure(DescriptionProblem(reason: "\(configFile): \(error)"))
        }
        do { vocabulary = try Vocabulary.load(from: folder.appendingPathComponent(vocabularyFile)) } catch {
            return .failure(DescriptionProblem(reason: "\(vocabularyFile): \(error)"))
        }
        guard vocabulary.count == config.vocabularySize else {
            return .failure(
                DescriptionProblem(
                    reason:
                        "the model predicts \(config.vocabularySize) ids but \(vocabularyFile) lists "
                        + "\(vocabulary.count)",
                    isMismatch: true))
        }
        return .success((config, vocabulary))
    }

    /// Why a model folder's config and vocabulary cannot be used.
    public struct DescriptionProblem: Error, CustomStringConvertible {
        /// What is wrong, naming the file.
        public var reason: String
        /// True when both files read but do not belong together.
        public var isMismatch = false
        public var description: String { reason }
    }

    /// Writes `model.safetensors` (values stored as `type`: F32, or F16 for a model to ship at
    /// half the size), `model.json`, `vocab.json` and, when given, the model `card` into
    /// `folder` (created if needed). Each file is written whole (`AtomicFile`), and a Ctrl-C
    /// waits until all are written, so the folder never pairs new weights with an old config.
    /// - Throws: `FileError` naming what could not be written and why.
    public static func write(
        weights: SafetensorsFile, config: ModelConfig, vocabulary: Vocabulary, to folder: URL,
        as type: SafetensorsFile.StoredType = .f32, card: Data? = nil
    ) throws {
        try OutputPath.createFolder(folder)
        try Interruption.whileWriting {
            try weights.write(to: folder.appendingPathComponent(weightsFile).path, as: type)
            try AtomicFile.write(config.json(), to: folder.appendingPathComponent(configFile))
            try vocabulary.save(to: folder.appendingPathComponent(vocabularyFile))
            if let card { try AtomicFile.write(card, to: folder.appendingPathComponent(cardFile)) }
        }
    }

    /// Copies this model's files (weights, config, vocabulary, card and measured precision,
    /// byte for byte) into `destination`, each written whole; nothing when `destination` is
    /// this folder.
    public func copyFiles(to destination: URL) throws {
        let here = folder.standardizedFileURL.resolvingSymlinksInPath()
        guard destination.standardizedFileURL.resolvingSymlinksInPath() != here else { return }
        for name in [Self.weightsFile, Self.configFile, Self.vocabularyFile, Self.cardFile, Self.decodingFile] {
            let source = folder.appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: source.path) else { continue }
            try AtomicFile.write(Data(contentsOf: source), to: destination.appendingPathComponent(name))
        }
    }

    /// The model, ready to generate: Transformer-XL keeping `memoryLength` rows of memory
    /// (default: its training `mem_len`), or GPT-2 with its KV cache (`memoryLength` ignored),
    /// stepping with weights in `precision` (default: `generationPrecision`).
    public func stepper(memoryLength: Int? = nil, precision: DecoderMatrix.Precision? = nil) throws -> TokenStepper {
        let precision = precision ?? generationPrecision
        do {
            switch config.kind {
            case .transformerXL:
                return try TransformerXLStepper(
                    model: TransformerXL(config: config, checkpoint: weights),
                    memoryLength: memoryLength, precision: precision)
            case .gpt2:
                return GPT2Stepper(model: try GPT2(config: config, checkpoint: weights), precision: precision)
            }
        } catch let error as SafetensorsError {
            throw ModelFolderError.unreadable(path: folder.path, reason: "\(Self.weightsFile): \(error)")
        }
    }

    /// The models shipped with Cadenza, by the name a user gives: the resource folder of each.
    /// `pretrained` (also `piano`) is the piano model, the default; `pop` writes POP909-style
    /// arrangements in three parts.
    public static let bundledModels = ["pretrained": "Pretrained", "piano": "Pretrained", "pop": "Pop"]

    /// Where the shipped model `name` (a key of `bundledModels`) lives inside a resource
    /// folder: `<resources>/Pretrained` for the piano model. nil when the folder holds no model
    /// (a build without those weights) or the name is not a shipped model's.
    public static func pretrained(in resources: URL?, named name: String = "pretrained") -> URL? {
        guard let subfolder = bundledModels[name.lowercased()],
            let folder = resources?.appendingPathComponent(subfolder), holdsModel(folder)
        else { return nil }
        return folder
    }
}

/// Why a model folder could not be used.
public enum ModelFolderError: Error, Equatable, CustomStringConvertible {
    /// The folder at `path` is not a usable model: `reason` says what is wrong.
    case unreadable(path: String, reason: String)
    /// No `--checkpoint` was given and this build carries no pretrained model.
    case noPretrainedModel

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot use the model in \(path): \(reason)"
        case .noPretrainedModel:
            return """
                this build of Cadenza carries no pretrained model (Sources/cadenza/Resources/Pretrained is empty). \
                Train one (`cadenza train --data ../shared/data/maestro-asap --out runs/first`) and pass \
                `--checkpoint runs/first`, or give any checkpoint folder with model.safetensors, model.json \
                and vocab.json.
                """
        }
    }
}
