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
/// tokenizer config). A checkpoint folder is therefore a bundle, and so is the pretrained
/// model shipped with Cadenza, which carries only these three files (no optimizer state).
public struct ModelBundle {
    /// The model's sizes and switches.
    public var config: ModelConfig
    /// The tokenizer the ids belong to.
    public var tokenizer: REMITokenizer
    /// The weights.
    public var weights: SafetensorsFile
    /// Where it was read from.
    public var folder: URL

    /// The file names inside a bundle folder.
    public static let weightsFile = "model.safetensors", configFile = "model.json", vocabularyFile = "vocab.json"

    /// Whether `folder` holds the three files of a bundle.
    public static func isBundle(_ folder: URL) -> Bool {
        [weightsFile, configFile, vocabularyFile].allSatisfy {
            FileManager.default.fileExists(atPath: folder.appendingPathComponent($0).path)
        }
    }

    /// Reads the bundle in `folder`, checking that config, vocabulary and weights fit together.
    public static func read(_ folder: URL) throws -> ModelBundle {
        func fail(_ reason: String) -> ModelBundleError { .unreadable(path: folder.path, reason: reason) }
        guard isBundle(folder) else {
            throw fail("it must hold \(weightsFile), \(configFile) and \(vocabularyFile)")
        }
        let config: ModelConfig, vocabulary: Vocabulary, weights: SafetensorsFile
        do { config = try ModelConfig.decode(json: Data(contentsOf: folder.appendingPathComponent(configFile))) } catch {
            throw fail("\(configFile): \(error)")
        }
        do { vocabulary = try Vocabulary.load(from: folder.appendingPathComponent(vocabularyFile)) } catch {
            throw fail("\(vocabularyFile): \(error)")
        }
        guard vocabulary.count == config.vocabularySize else {
            throw fail("the model predicts \(config.vocabularySize) ids but \(vocabularyFile) lists \(vocabulary.count)")
        }
        do { weights = try SafetensorsFile(contentsOf: folder.appendingPathComponent(weightsFile).path) } catch {
            throw fail("\(weightsFile): \(error)")
        }
        return ModelBundle(config: config, tokenizer: REMITokenizer(vocabulary: vocabulary), weights: weights, folder: folder)
    }

    /// Writes `model.safetensors` (values stored as `type`: F32, or F16 for a model to ship at
    /// half the size), `model.json` and `vocab.json` into `folder` (created if needed). Each
    /// file is written whole (`AtomicFile`), and a Ctrl-C waits until all three are written, so
    /// the folder never pairs new weights with an old config.
    /// - Throws: `FileError` naming what could not be written and why.
    public static func write(weights: SafetensorsFile, config: ModelConfig, vocabulary: Vocabulary, to folder: URL,
                             as type: SafetensorsFile.StoredType = .f32) throws {
        try OutputPath.createFolder(folder)
        try Interruption.whileWriting {
            try weights.write(to: folder.appendingPathComponent(weightsFile).path, as: type)
            try AtomicFile.write(config.json(), to: folder.appendingPathComponent(configFile))
            try vocabulary.save(to: folder.appendingPathComponent(vocabularyFile))
        }
    }

    /// The model, ready to generate: Transformer-XL keeping `memoryLength` rows of memory
    /// (default: its training `mem_len`), or GPT-2 with its KV cache (`memoryLength` ignored),
    /// stepping with weights in `precision`.
    public func stepper(memoryLength: Int? = nil, precision: DecoderMatrix.Precision = .fastest) throws -> TokenStepper {
        do {
            switch config.kind {
            case .transformerXL:
                return try TransformerXLStepper(model: TransformerXL(config: config, checkpoint: weights),
                                                memoryLength: memoryLength, precision: precision)
            case .gpt2:
                return GPT2Stepper(model: try GPT2(config: config, checkpoint: weights), precision: precision)
            }
        } catch let error as SafetensorsError {
            throw ModelBundleError.unreadable(path: folder.path, reason: "\(Self.weightsFile): \(error)")
        }
    }

    /// Where the pretrained model shipped with Cadenza lives inside a resource folder:
    /// `<resources>/Pretrained`, a bundle folder. nil when the folder holds no model (a build
    /// without the pretrained weights).
    public static func pretrained(in resources: URL?) -> URL? {
        guard let folder = resources?.appendingPathComponent("Pretrained"), isBundle(folder) else { return nil }
        return folder
    }
}

/// Why a model folder could not be used.
public enum ModelBundleError: Error, Equatable, CustomStringConvertible {
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
            `--checkpoint runs/first`, or give any checkpoint folder with model.safetensors, model.json and vocab.json.
            """
        }
    }
}
