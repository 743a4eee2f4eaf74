import ArgumentParser
import Basics
import Foundation
import Models
import REMI

/// `cadenza model-info`: the sizes and parameter count of a model preset or config file.
struct ModelInfo: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-info",
        abstract: "Print a model configuration (preset or JSON file) and its parameter count.")

    @Option(help: "Preset to describe: \(ModelConfig.presetNames.joined(separator: ", ")).")
    var preset: String = "small"

    @Option(
        help: "Architecture: txl or gpt2 (with --preset; default: txl; transformer-xl and gpt-2 are accepted too).")
    var model: ModelKind?

    @Option(
        parsing: .unconditional,
        help: "Vocabulary size in tokens (with --preset; default: the default REMI vocabulary's).")
    var vocabulary: Int?

    @Option(help: "A model config JSON file (as saved with a checkpoint); overrides --preset.")
    var config: String?

    func validate() throws {
        if let vocabulary, !(2...65_536).contains(vocabulary) {
            throw ValidationError("--vocabulary must be 2...65536, got \(vocabulary)")
        }
        guard config != nil || ModelConfig.presetNames.contains(preset) else {
            throw ValidationError(
                "--preset must be one of \(ModelConfig.presetNames.joined(separator: ", ")), got '\(preset)'")
        }
    }

    func run() throws {
        let described: ModelConfig
        if let config {
            described = try readModelConfig(config)
        } else {
            described = try ModelConfig.preset(
                named: preset, kind: model ?? .transformerXL,
                vocabularySize: vocabulary ?? Vocabulary().count)
        }
        print(described.json())
        print(
            "parameters: \(described.parameterCount) "
                + "(\(String(format: "%.2f", Double(described.parameterCount) / 1e6)) M)"
        )
    }
}
