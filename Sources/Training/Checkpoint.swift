import Corpus
import Basics
import Foundation
import Generation
import Models
import REMI
import Tensor

/// Where a run stands: everything besides weights, optimiser moments and memory that an
/// exact resume needs. Saved as `state.json` in each checkpoint.
public struct TrainerState: Codable, Equatable, Sendable {
    /// Updates taken.
    public var step: Int
    /// Passes over the training data started (0-based index of the current one).
    public var epoch: Int
    /// Batches of the current epoch already read: the data position.
    public var batchInEpoch: Int
    /// The dropout generator, exactly where the next mask is drawn from.
    public var dropoutGenerator: SeededGenerator
    /// Training tokens read so far (targets).
    public var tokensSeen: Int
    /// Wall-clock seconds spent training (for the report).
    public var elapsedSeconds: Double
    /// The lowest validation loss so far (nats per token), if any.
    public var bestValidationLoss: Double?
    /// Fingerprint of the training split when the run started (`TokenizedCorpus.fingerprint`).
    public var dataFingerprint: String
}

/// A checkpoint folder: `model.safetensors` (reference parameter names, config in metadata),
/// `optimizer.safetensors` (Adam moments `exp_avg.<name>`, `exp_avg_sq.<name>`, step in
/// metadata), `memory.safetensors` (Transformer-XL's memory, when it holds rows),
/// `model.json`, `tokenizer.json`, `vocab.json`, and `state.json` (the `TrainerState`, the
/// options, and a manifest of every other file's size and hash, so a truncated or corrupted
/// file is caught before it is used).
///
/// Written atomically: everything goes into `.<name>.partial`, then the old folder is moved
/// aside, the new one renamed into place, and the old one removed. A crash or a full disk at
/// any point leaves the previous checkpoint readable (as `<name>` or, between the two renames,
/// `.<name>.old`, which `read` falls back to).
public struct Checkpoint {
    /// The model's config.
    public var modelConfig: ModelConfig
    /// The tokenizer the ids belong to.
    public var tokenizer: REMITokenizer
    /// Training settings.
    public var options: TrainingOptions
    /// Position, generators, counters.
    public var state: TrainerState
    /// Folder the checkpoint was read from.
    public var folder: URL

    struct StateFile: Codable {
        var format: String
        var version: Int
        var state: TrainerState
        var options: TrainingOptions
        var manifest: [String: ManifestEntry]
    }

    struct ManifestEntry: Codable, Equatable {
        var bytes: Int
        var fnv1a: String
    }

    static let formatName = "cadenza-checkpoint"

    /// Writes a checkpoint of `model` (and `optimizer`, `memory`) into `run/<name>`.
    /// `writeFile` writes one file (tests pass one that fails as a full disk does).
    static func write(
        name: String, run: URL, model: LanguageModel, optimizer: Adam, memory: Memory?,
        tokenizer: REMITokenizer, options: TrainingOptions, state: TrainerState,
        writeFile: (Data, URL) throws -> Void = { try AtomicFile.write($0, to: $1) }
    ) throws {
        try Interruption.whileWriting {
            try writeFolder(
                name: name, run: run, model: model, optimizer: optimizer, memory: memory, tokenizer: tokenizer,
                options: options, state: state, writeFile: writeFile)
        }
    }

    private static func writeFolder(
        name: String, run: URL, model: LanguageModel, optimizer: Adam, memory: Memory?,
        tokenizer: REMITokenizer, options: TrainingOptions, state: TrainerState,
        writeFile: (Data, URL) throws -> Void
    ) throws {
        let fm = FileManager.default
        let final = run.appendingPathComponent(name)
        let partial = run.appendingPathComponent(".\(name).partial")
        let old = run.appendingPathComponent(".\(name).old")
        func fail(_ error: Error) -> TrainingError {
            _ = try? fm.removeItem(at: partial)
            return .checkpointUnwritable(path: final.path, reason: "\(error)")
        }
        var manifest: [String: ManifestEntry] = [:]
        func put(_ file: String, _ bytes: Data) throws {
            try writeFile(bytes, partial.appendingPathComponent(file))
            manifest[file] = ManifestEntry(bytes: bytes.count, fnv1a: FNV1a.hex(FNV1a.hash(bytes)))
        }
        do {
            if fm.fileExists(atPath: partial.path) { try fm.removeItem(at: partial) }
            try fm.createDirectory(at: partial, withIntermediateDirectories: true)
            try put(ModelFolder.weightsFile, Data(model.checkpoint().encoded()))
            var moments: [String: Tensor] = [:]
            for (index, (name, _)) in model.parameters.enumerated() {
                moments["exp_avg." + name] = optimizer.firstMoments[index]
                moments["exp_avg_sq." + name] = optimizer.secondMoments[index]
            }
            try put(
                "optimizer.safetensors",
                Data(SafetensorsFile(tensors: moments, metadata: ["step": "\(optimizer.step)"]).encoded()))
            if let memory, memory.rowsHeld > 0 {
                var layers: [String: Tensor] = [:]
                for (l, t) in memory.layers.enumerated() { layers["memory.\(l)"] = t }
                try put("memory.safetensors", Data(SafetensorsFile(tensors: layers, metadata: [:]).encoded()))
            }
            try put(ModelFolder.configFile, Data(model.config.json().utf8))
            try put("tokenizer.json", tokenizer.config.jsonData())
            try put(ModelFolder.vocabularyFile, tokenizer.vocabulary.jsonData())
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let stateFile = StateFile(
                format: formatName, version: 1, state: state, options: options, manifest: manifest)
            try writeFile(encoder.encode(stateFile), partial.appendingPathComponent("state.json"))
        } catch {
            throw fail(error)
        }
        do {
            if fm.fileExists(atPath: old.path) { try fm.removeItem(at: old) }
            if fm.fileExists(atPath: final.path) { try fm.moveItem(at: final, to: old) }
            try fm.moveItem(at: partial, to: final)
            _ = try? fm.removeItem(at: old)
        } catch {
            throw fail(error)
        }
    }

    /// The checkpoint folder `path` names: a checkpoint itself, or a run folder (its `best`
    /// when `preferBest` and present, else its `latest`), falling back to a `.<name>.old`
    /// left by an interrupted write.
    public static func locate(_ path: String, preferBest: Bool = false) throws -> URL {
        let url = URL(fileURLWithPath: path)
        let fm = FileManager.default
        if fm.fileExists(atPath: url.appendingPathComponent("state.json").path) { return url }
        for name in preferBest ? ["best", "latest"] : ["latest"] {
            for candidate in [name, ".\(name).old"] {
                let folder = url.appendingPathComponent(candidate)
                if fm.fileExists(atPath: folder.appendingPathComponent("state.json").path) { return folder }
            }
        }
        if !fm.fileExists(atPath: url.path) {
            throw TrainingError.corruptCheckpoint(path: path, reason: "no such folder")
        }
        throw TrainingError.corruptCheckpoint(
            path: path, reason: "no state.json here nor in \(path)/latest: not a checkpoint or run folder")
    }

    /// Which of a checkpoint's files `read` holds to their manifest sizes and hashes.
    public enum Verification: Sendable {
        /// Every file listed: what resuming training reads.
        case everyFile
        /// Every file but the optimizer state (`optimizer.safetensors`, twice the model's size),
        /// which generation and evaluation never read.
        case modelFiles
    }

    /// Reads and checks the checkpoint in `folder` (see `locate`): every file listed in the
    /// manifest (all but the optimizer state for `.modelFiles`) must be present with its size
    /// and hash, the vocabulary must match its config, and the model config must be valid.
    /// Weights are read by `loadModel`.
    public static func read(_ folder: URL, verifying verification: Verification = .everyFile) throws -> Checkpoint {
        let path = folder.path
        func corrupt(_ reason: String) -> TrainingError { .corruptCheckpoint(path: path, reason: reason) }
        guard let stateData = try? FileContents.data(at: folder.appendingPathComponent("state.json")) else {
            throw corrupt("state.json is missing or unreadable")
        }
        let stateFile: StateFile
        do { stateFile = try JSONDecoder().decode(StateFile.self, from: stateData) } catch {
            throw corrupt("state.json is not a valid checkpoint state (\(JSONKeys.describe(error)))")
        }
        guard stateFile.format == formatName, stateFile.version == 1 else {
            throw corrupt(
                "state.json has format \(stateFile.format) version \(stateFile.version), expected \(formatName) 1")
        }
        for (file, entry) in stateFile.manifest.sorted(by: { $0.key < $1.key })
        where verification == .everyFile || file != "optimizer.safetensors" {
            guard let bytes = try? FileContents.data(at: folder.appendingPathComponent(file)) else {
                throw corrupt("\(file) is missing")
            }
            guard bytes.count == entry.bytes else {
                throw corrupt("\(file) has \(bytes.count) bytes, \(entry.bytes) were written: truncated or replaced")
            }
            guard FNV1a.hex(FNV1a.hash(bytes)) == entry.fnv1a else {
                throw corrupt("\(file) does not match its hash: corrupted")
            }
        }
        for required in ["model.safetensors", "optimizer.safetensors", "model.json", "tokenizer.json", "vocab.json"]
        where stateFile.manifest[required] == nil {
            throw corrupt("the manifest does not list \(required)")
        }
        let config: ModelConfig, vocabulary: Vocabulary
        switch ModelFolder.description(of: folder) {
        case .success(let description): (config, vocabulary) = description
        case .failure(let problem):
            throw problem.isMismatch
                ? TrainingError.incompatibleCheckpoint(path: path, reason: problem.reason)
                : corrupt(problem.reason)
        }
        return Checkpoint(
            modelConfig: config, tokenizer: REMITokenizer(vocabulary: vocabulary),
            options: stateFile.options, state: stateFile.state, folder: folder)
    }

    /// The model with the checkpoint's weights.
    public func loadModel() throws -> LanguageModel {
        do {
            let file = try SafetensorsFile(contentsOf: folder.appendingPathComponent("model.safetensors").path)
            return try LanguageModel(config: modelConfig, checkpoint: file)
        } catch let error as SafetensorsError {
            throw TrainingError.incompatibleCheckpoint(path: folder.path, reason: "model.safetensors: \(error)")
        }
    }

    /// Puts the saved Adam moments and step into `optimizer` (built over `model`'s parameters).
    func restore(optimizer: Adam, model: LanguageModel) throws {
        do {
            let file = try SafetensorsFile(contentsOf: folder.appendingPathComponent("optimizer.safetensors").path)
            guard let step = file.metadata["step"].flatMap(Int.init) else {
                throw TrainingError.corruptCheckpoint(path: folder.path, reason: "optimizer.safetensors has no step")
            }
            let m = try model.parameters.map { try file.tensor("exp_avg." + $0.name, shape: $0.tensor.shape) }
            let v = try model.parameters.map { try file.tensor("exp_avg_sq." + $0.name, shape: $0.tensor.shape) }
            try optimizer.restore(step: step, firstMoments: m, secondMoments: v)
        } catch let error as SafetensorsError {
            throw TrainingError.incompatibleCheckpoint(path: folder.path, reason: "optimizer.safetensors: \(error)")
        }
    }

    /// The saved Transformer-XL memory for `batch` streams (empty when none was saved).
    func restoreMemory(model: LanguageModel, batch: Int) throws -> Memory? {
        let url = folder.appendingPathComponent("memory.safetensors")
        guard FileManager.default.fileExists(atPath: url.path) else { return model.emptyMemory(batch: batch) }
        do {
            let file = try SafetensorsFile(contentsOf: url.path)
            let first = try file.tensor("memory.0")
            guard first.shape.count == 3, first.shape[0] == batch else {
                throw TrainingError.incompatibleCheckpoint(
                    path: folder.path, reason: "memory.safetensors holds \(first.shape), not \(batch) streams")
            }
            guard let empty = model.emptyMemory(batch: batch) else { return nil }
            let layers = try (0..<empty.layers.count).map {
                try file.tensor("memory.\($0)", shape: [batch, first.shape[1], empty.width])
            }
            guard let memory = Memory(memoryLength: empty.memoryLength, layers: layers) else {
                throw TrainingError.incompatibleCheckpoint(
                    path: folder.path,
                    reason: "memory.safetensors holds more rows than mem_len \(empty.memoryLength)")
            }
            return memory
        } catch let error as SafetensorsError {
            throw TrainingError.incompatibleCheckpoint(path: folder.path, reason: "memory.safetensors: \(error)")
        }
    }
}
