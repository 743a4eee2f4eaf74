import ArgumentParser
import Foundation
import Models

/// `cadenza model-info`: the sizes and parameter count of a model preset or config file.
struct ModelInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-info",
        abstract: "Print a model configuration (preset or JSON file) and its parameter count.")

    @Option(help: "Preset to describe: \(ModelConfig.presetNames.joined(separator: ", ")).")
    var preset: String = "small"

    @Option(help: "Architecture: transformer-xl or gpt2 (with --preset).")
    var kind: String = "transformer-xl"

    @Option(help: "Vocabulary size in tokens (with --preset).")
    var vocabulary: Int = 300

    @Option(help: "A model config JSON file (as saved with a checkpoint); overrides --preset.")
    var config: String?

    func validate() throws {
        guard ModelKind(rawValue: kind) != nil else {
            throw ValidationError("--kind must be one of: \(ModelKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard vocabulary >= 2 else { throw ValidationError("--vocabulary must be at least 2") }
    }

    func run() throws {
        let model: ModelConfig
        if let config {
            guard let data = FileManager.default.contents(atPath: config) else {
                throw ValidationError("cannot read config file \(config)")
            }
            model = try ModelConfig.decode(json: data)
        } else {
            model = try ModelConfig.preset(named: preset, kind: ModelKind(rawValue: kind) ?? .transformerXL,
                                           vocabularySize: vocabulary)
        }
        print(model.json())
        print("parameters: \(model.parameterCount) (\(String(format: "%.2f", Double(model.parameterCount) / 1e6)) M)")
    }
}
