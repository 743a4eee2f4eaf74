import Basics
import ArgumentParser
import Foundation
import Generation
import Models

/// `cadenza info`: the version and the models this build carries (what it is, how it
/// was trained, how well it does), read from the bundle and its `model-card.json`.
struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Describe this build of Cadenza and the models bundled with it.")

    func run() throws {
        print("cadenza \(Cadenza.configuration.version)")
        var shown = 0
        for (name, label) in [
            ("pretrained", "pretrained model (piano)"), ("pop", "pop arrangement model (--model pop)"),
        ] {
            guard
                let folder = ModelLocation.resourceFolders.lazy.compactMap({
                    ModelFolder.pretrained(in: $0, named: name)
                })
                .first
            else { continue }
            try describe(folder, label: label)
            shown += 1
        }
        if shown == 0 { print("pretrained model: none in this build (\(ModelFolderError.noPretrainedModel))") }
    }

    /// Prints what the model in `folder` is, how it was trained and how well it does.
    func describe(_ folder: URL, label: String) throws {
        let bundle = try ModelFolder.read(folder)
        let config = bundle.config
        let weights = folder.appendingPathComponent(ModelFolder.weightsFile).path
        let bytes = (try? FileManager.default.attributesOfItem(atPath: weights)[.size] as? Int) ?? 0
        print("\(label): \(folder.path)")
        print(
            "  architecture:  \(config.kind.rawValue), \(config.layers) layers, d_model \(config.modelWidth), "
                + "\(config.heads) heads of \(config.headSize), inner \(config.innerWidth), "
                + "segment \(config.segmentLength), memory \(config.memoryLength)")
        print(
            "  parameters:    \(config.parameterCount) (\(String(format: "%.2f", Double(config.parameterCount) / 1e6)) "
                + "M), "
                + "\(ModelFolder.weightsFile) \(String(format: "%.1f", Double(bytes) / 1e6)) MB")
        print("  vocabulary:    \(config.vocabularySize) REMI tokens")
        let tokenizer = bundle.tokenizer.config
        if tokenizer.hasInstruments {
            let roles = tokenizer.trackRoles.isEmpty ? "" : " (parts: \(tokenizer.trackRoles.joined(separator: ", ")))"
            print("  instruments:   one part per track\(roles), General MIDI programs, drums")
        }
        if tokenizer.controls {
            print("  controls:      --infill, --chords, --style, --key, --density, --tempo (docs/control.md)")
            print("  styles:        \(tokenizer.styles.joined(separator: ", "))")
            if let bias = try StyleBias.read(from: folder, for: bundle.tokenizer) {
                let fitted = bias.fittedStyles
                print(
                    "  style bias:    fitted for \(fitted.joined(separator: ", ")) (\(StyleBias.fileName); cadenza fit-style)"
                )
            } else {
                print("  style bias:    none (the Style token alone steers; fit one with `cadenza fit-style`)")
            }
            let t = tokenizer.densityThresholds.map { String(format: "%g", $0) }
            print("  densities:     sparse (under \(t[0]) notes per bar), medium, dense (\(t[1]) or more)")
        } else {
            print("  controls:      --chords, --tempo (no control tokens: fine-tune with `cadenza train --controls`)")
        }
        // The card is free-form key/value text written when the model was exported (README.md,
        // "The bundled model", has the same figures).
        let entries = bundle.cardEntries
        let width = (entries.map(\.key.count).max() ?? 0) + 2
        for (key, value) in entries {
            print("  \((key + ":").padding(toLength: width, withPad: " ", startingAt: 0))\(value)")
        }
    }
}
