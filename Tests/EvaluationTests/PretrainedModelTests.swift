import Evaluation
import Corpus
import Foundation
import MIDI
import Models
import REMI
import Tensor
import Testing
import Training
@testable import Generation

/// The pretrained model shipped in Sources/cadenza/Resources/Pretrained (issue 9): it loads,
/// scores the first validation files of maestro-asap as its model card and the README say, and
/// writes valid music.
struct PretrainedModelTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let folder = root.appendingPathComponent("Sources/cadenza/Resources/Pretrained")
    static let corpus = root.appendingPathComponent("../shared/data/maestro-asap/maestro-asap.csv").standardizedFileURL
    static var shipped: Bool { ModelFolder.holdsModel(folder) }
    static var hasData: Bool { FileManager.default.fileExists(atPath: corpus.path) }

    /// The figures `model-card.json` records for this test: the NLL per token of the shipped
    /// weights on `check_tokens` tokens of the validation split, sampled as `cadenza eval` and
    /// training's validation sample them (`validationSample`: whole pieces in a fixed shuffled
    /// order) and read as one stream: what `cadenza eval --checkpoint
    /// Sources/cadenza/Resources/Pretrained --split validation --batch 1 --max-tokens <check_tokens> --mem-len 128`
    /// prints.
    struct Card: Decodable {
        var check_tokens: Int
        var check_nll_per_token: Double
    }

    @Test(.enabled(if: shipped, "no pretrained model in Sources/cadenza/Resources/Pretrained"))
    func itIsASmallTransformerXLUnder25MB() throws {
        let bundle = try ModelFolder.read(Self.folder)
        #expect(bundle.config.kind == .transformerXL)
        let bytes =
            try FileManager.default.attributesOfItem(
                atPath: Self.folder.appendingPathComponent(ModelFolder.weightsFile).path)[.size] as? Int ?? .max
        #expect(bytes <= 25_000_000)
    }

    @Test(.enabled(if: shipped && hasData, "needs the pretrained model and ../shared/data/maestro-asap"))
    func itsValidationNLLMatchesTheREADME() throws {
        let bundle = try ModelFolder.read(Self.folder)
        let card = try JSONDecoder().decode(
            Card.self, from: Data(contentsOf: Self.folder.appendingPathComponent("model-card.json")))
        let figure = String(format: "%.3f", card.check_nll_per_token)
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        #expect(readme.contains(figure), "README.md should state the check figure \(figure)")

        // As `cadenza eval` reads it: the sample chosen on the plain pieces, the control tokens
        // added as in training, the NLL counted per music token.
        let data = try EvaluationData.load(
            path: Self.corpus.path, ratios: SplitRatios(), split: .validation, tokenizer: bundle.tokenizer,
            cacheFolder: nil, maximumTokens: card.check_tokens)
        try #require(data.tokens.count == card.check_tokens + data.controlTokens)
        let model = try LanguageModel(config: bundle.config, checkpoint: bundle.weights)
        let report = try Perplexity.evaluate(
            model: model, tokens: data.tokens, batch: 1, memoryLength: 128, vocabulary: bundle.tokenizer.vocabulary
        ).perMusicToken(controls: data.controlTokens, notesPerMusicToken: data.notesPerMusicToken)
        let nll = report.nllPerToken
        #expect(abs(nll - card.check_nll_per_token) < 0.01, "NLL \(nll) nats/token, card says \(figure)")
        // Far below the uniform baseline (log of the vocabulary size): it learned something.
        #expect(nll < log(Double(bundle.config.vocabularySize)) - 2)
    }

    @Test(.enabled(if: shipped, "no pretrained model in Sources/cadenza/Resources/Pretrained"))
    func itWritesAValidPieceOfFourBars() throws {
        let bundle = try ModelFolder.read(Self.folder)
        var random = SeededGenerator(seed: 1)
        let piece = try Generator(
            stepper: bundle.stepper(), vocabulary: bundle.tokenizer.vocabulary, sampler: Sampler()
        )
        .generate(stop: try StopCondition(bars: 4), generator: &random)
        #expect(piece.grammarViolations == 0)
        #expect(piece.bars >= 4)
        #expect(piece.notes > 0)
        let midi = bundle.tokenizer.decode(ids: piece.ids)
        let back = try MIDIFile(bytes: midi.encoded())
        #expect(back.tracks.map(\.notes.count).reduce(0, +) == piece.notes)
    }

    /// Issue 7: 100 pieces drawn with different seeds from a model trained by `cadenza train`
    /// (the bundled one), with `cadenza generate`'s default sampling, are all valid: grammar
    /// intact, notes present, and the MIDI file they decode to writes and reads back with the
    /// same notes.
    @Test(.enabled(if: shipped, "no pretrained model in Sources/cadenza/Resources/Pretrained"))
    func aHundredSeedsGiveAHundredValidPieces() throws {
        let bundle = try ModelFolder.read(Self.folder)
        var pieces: [[Int]] = []
        let sampler = try Sampler(temperature: Sampler.recommendedTemperature, topP: Sampler.recommendedTopP)
        for seed in 1...100 {
            var random = SeededGenerator(seed: UInt64(seed))
            let piece = try Generator(
                stepper: bundle.stepper(), vocabulary: bundle.tokenizer.vocabulary, sampler: sampler
            )
            .generate(stop: try StopCondition(bars: 2), generator: &random)
            #expect(piece.grammarViolations == 0, "seed \(seed)")
            #expect(piece.notes > 0, "seed \(seed)")
            let back = try MIDIFile(bytes: bundle.tokenizer.decode(ids: piece.ids).encoded())
            #expect(back.tracks.map(\.notes.count).reduce(0, +) == piece.notes, "seed \(seed)")
            pieces.append(piece.ids)
        }
        // Different seeds, different music.
        #expect(Set(pieces).count == 100)
    }
}
