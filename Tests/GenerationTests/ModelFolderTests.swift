import Foundation
import MIDI
import Models
import REMI
import Tensor
import Testing
@testable import Generation

/// The model folder format generation reads (the files of a training checkpoint).
struct ModelFolderTests {
    func temporaryFolder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("cadenza-bundle-\(UUID().uuidString)")
    }

    @Test func aWrittenBundleReadsBackAndGeneratesTheSameMusic() throws {
        let tokenizer = try REMITokenizer()
        let config = ModelConfig.tiny(.transformerXL, vocabularySize: tokenizer.vocabulary.count)
        let model = try TransformerXL(config: config, generator: SeededGenerator(seed: 3))
        let folder = temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try ModelFolder.write(weights: model.checkpoint(), config: config, vocabulary: tokenizer.vocabulary, to: folder)
        #expect(ModelFolder.holdsModel(folder))
        let bundle = try ModelFolder.read(folder)
        #expect(bundle.config == config)
        #expect(bundle.tokenizer.vocabulary == tokenizer.vocabulary)

        func piece(_ stepper: TokenStepper) throws -> [Int] {
            var random = SeededGenerator(seed: 8)
            return try Generator(stepper: stepper, vocabulary: tokenizer.vocabulary, sampler: Sampler())
                .generate(stop: StopCondition(tokens: 120), generator: &random).ids
        }
        #expect(try piece(bundle.stepper()) == piece(TransformerXLStepper(model: model)))
    }

    @Test func aFolderWithoutTheFilesIsATypedError() throws {
        let folder = temporaryFolder()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: ModelFolderError.self) { try ModelFolder.read(folder) }
        #expect(ModelFolder.pretrained(in: folder) == nil)
        // A config and a vocabulary that disagree on the number of ids.
        let tokenizer = try REMITokenizer()
        let config = ModelConfig.tiny(.gpt2, vocabularySize: 50)
        let model = try GPT2(config: config, generator: SeededGenerator(seed: 1))
        try ModelFolder.write(weights: model.checkpoint(), config: config, vocabulary: tokenizer.vocabulary, to: folder)
        do {
            _ = try ModelFolder.read(folder)
            Issue.record("a 50-id model was accepted with a \(tokenizer.vocabulary.count)-id vocabulary")
        } catch let error as ModelFolderError {
            #expect(error.description.contains("50"))
        }
    }

    /// Writes a random tiny Transformer-XL bundle where CADENZA_WRITE_TINY_BUNDLE says, for
    /// trying `cadenza generate --checkpoint` by hand; does nothing otherwise.
    @Test func writesATinyBundleOnRequest() throws {
        guard let path = ProcessInfo.processInfo.environment["CADENZA_WRITE_TINY_BUNDLE"] else { return }
        let tokenizer = try REMITokenizer()
        for kind in ModelKind.allCases {
            let config = ModelConfig.tiny(kind, vocabularySize: tokenizer.vocabulary.count)
            let weights =
                kind == .gpt2
                ? try GPT2(config: config, generator: SeededGenerator(seed: 1)).checkpoint()
                : try TransformerXL(config: config, generator: SeededGenerator(seed: 1)).checkpoint()
            try ModelFolder.write(
                weights: weights, config: config, vocabulary: tokenizer.vocabulary,
                to: URL(fileURLWithPath: path).appendingPathComponent(kind.rawValue))
        }
    }
}
