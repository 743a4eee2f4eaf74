import Corpus
import Evaluation
import Foundation
import MIDI
import Models
import REMI
import Tensor
import Testing
import Training
@testable import Generation

/// The pop arrangement model shipped in Sources/cadenza/Resources/Pop (`cadenza generate
/// --model pop`): it loads by name, scores POP909's validation songs as its model card and the
/// README say, and writes pieces in three parts, MELODY, BRIDGE and PIANO, each of which plays.
struct PopModelTests {
    static let root = PretrainedModelTests.root
    static let folder = root.appendingPathComponent("Sources/cadenza/Resources/Pop")
    static let corpus = root.appendingPathComponent("../shared/data/pop909").standardizedFileURL
    static var shipped: Bool { ModelFolder.holdsModel(folder) }
    static var hasData: Bool { FileManager.default.fileExists(atPath: corpus.path) }

    @Test(.enabled(if: shipped, "no pop model in Sources/cadenza/Resources/Pop"))
    func itIsFoundByNameAndReadsThreeParts() throws {
        let (bundle, _) = try ModelFolder.named("pop", resourceFolders: [Self.folder.deletingLastPathComponent()])
        #expect(bundle.folder.standardizedFileURL == Self.folder.standardizedFileURL)
        #expect(bundle.config.kind == .transformerXL)
        #expect(bundle.tokenizer.config.hasInstruments)
        #expect(bundle.tokenizer.config.trackRoles == ["MELODY", "BRIDGE", "PIANO"])
        let bytes =
            try FileManager.default.attributesOfItem(
                atPath: Self.folder.appendingPathComponent(ModelFolder.weightsFile).path)[.size] as? Int ?? .max
        #expect(bytes <= 25_000_000)
    }

    @Test(.enabled(if: shipped && hasData, "needs the pop model and ../shared/data/pop909"))
    func itsValidationNLLMatchesTheREADME() throws {
        let bundle = try ModelFolder.read(Self.folder)
        let card = try JSONDecoder().decode(
            PretrainedModelTests.Card.self,
            from: Data(contentsOf: Self.folder.appendingPathComponent("model-card.json")))
        let figure = String(format: "%.3f", card.check_nll_per_token)
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains(figure), "README.md should state the pop check figure \(figure)")
        let data = try EvaluationData.load(
            path: Self.corpus.path, ratios: SplitRatios(validation: 0.1, test: 0.1), split: .validation,
            tokenizer: bundle.tokenizer, cacheFolder: nil, maximumTokens: card.check_tokens)
        let model = try LanguageModel(config: bundle.config, checkpoint: bundle.weights)
        let nll = try Perplexity.evaluate(
            model: model, tokens: data.tokens, batch: 1, memoryLength: 128, vocabulary: bundle.tokenizer.vocabulary
        ).nllPerToken
        #expect(abs(nll - card.check_nll_per_token) < 0.01, "NLL \(nll) nats/token, card says \(figure)")
    }

    /// `cadenza generate --model pop --bars 16` with its defaults, for the README's seed and two
    /// more: three tracks, named for their parts, and every one of them plays (the parts are
    /// asked to enter by bar 2, as `generate` asks by default).
    @Test(.enabled(if: shipped, "no pop model in Sources/cadenza/Resources/Pop"), arguments: [1, 2, 3])
    func sixteenBarsComeOutInThreePlayingParts(seed: Int) throws {
        let bundle = try ModelFolder.read(Self.folder)
        let sampler = try Sampler(temperature: Sampler.recommendedTemperature, topP: Sampler.recommendedTopP)
        var random = SeededGenerator(seed: UInt64(seed))
        var generator = try Generator(
            stepper: bundle.stepper(precision: .fastest), vocabulary: bundle.tokenizer.vocabulary, sampler: sampler)
        // As `generate` does by default (`--parts-enter-by 2`).
        generator.steering.requiredParts = Steering.namedParts(of: bundle.tokenizer.config)
        generator.steering.harmonyGuidance = 4
        let piece = try generator.generate(stop: try StopCondition(bars: 16), generator: &random)
        #expect(piece.grammarViolations == 0)
        let midi = try MIDIFile(bytes: bundle.tokenizer.decode(ids: piece.ids).encoded())
        let playing = midi.tracks.filter { !$0.notes.isEmpty }
        #expect(playing.compactMap(\.name) == ["MELODY", "BRIDGE", "PIANO"], "seed \(seed)")
        #expect(Set(playing.flatMap { $0.notes.map(\.channel) }).count == 3)
    }
}
