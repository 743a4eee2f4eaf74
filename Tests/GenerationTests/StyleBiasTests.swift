import Foundation
import Models
import REMI
import Tensor
import Testing

@testable import Generation

/// `style-bias.json`: written and read back whole, refused for another model, and added to the
/// logits while a style is asked.
struct StyleBiasTests {
    let tokenizer: REMITokenizer

    init() throws {
        var config = TokenizerConfig()
        config.controls = true
        config.styles = ["bach", "chopin"]
        tokenizer = try REMITokenizer(config: config)
    }

    func bias(vocabulary V: Int? = nil, styles: [String] = ["bach", "chopin"]) -> StyleBias {
        let V = V ?? tokenizer.vocabulary.count
        return StyleBias(
            styles: styles, vocabularySize: V, generic: (0..<V).map { Float($0 % 3) * 0.25 },
            offsets: styles.indices.map { s in (0..<V).map { Float(($0 + s) % 5) * 0.1 } }, fittedTokens: 512,
            pieces: styles.indices.map { $0 + 1 })
    }

    @Test func aBiasIsReadBackAsWrittenAndEachRowIsSharedPlusOwn() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("style-bias-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(try StyleBias.read(from: folder, for: tokenizer) == nil)
        let written = bias()
        try written.write(to: folder)
        let read = try StyleBias.read(from: folder, for: tokenizer)
        #expect(read == written)
        #expect(read?.row(style: 1) == zip(written.generic, written.offsets[1]).map { $0 + $1 })
    }

    @Test func aBiasForAnotherModelIsRefusedByName() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("style-bias-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (wrong, reason) in [
            (bias(vocabulary: tokenizer.vocabulary.count + 1), "fitted for"),
            (bias(styles: ["bach", "liszt"]), "are not the model's"),
        ] {
            try wrong.write(to: folder)
            #expect(throws: ModelFolderError.self) { try StyleBias.read(from: folder, for: tokenizer) }
            do { _ = try StyleBias.read(from: folder, for: tokenizer) } catch {
                #expect("\(error)".contains("style-bias.json") && "\(error)".contains(reason), "\(error)")
            }
        }
        try Data("{\"styles\": 3}".utf8).write(to: folder.appendingPathComponent(StyleBias.fileName))
        #expect(throws: ModelFolderError.self) { try StyleBias.read(from: folder, for: tokenizer) }
    }

    @Test func theGeneratorAddsTheBiasToEveryDraw() throws {
        let vocabulary = tokenizer.vocabulary
        let model = try TransformerXL(
            config: .tiny(.transformerXL, vocabularySize: vocabulary.count), generator: SeededGenerator(seed: 3))
        /// The pitches of each onset's notes, onset by onset.
        func pitches(_ logitBias: [Float]?) throws -> [[Int]] {
            var g = try Generator(
                stepper: TransformerXLStepper(model: model), vocabulary: vocabulary, sampler: Sampler())
            g.logitBias = logitBias
            var random = SeededGenerator(seed: 9)
            let piece = try g.generate(stop: try StopCondition(bars: 2), generator: &random)
            // REMI writes a Position before every item, the same one again for a second note at
            // an onset: a new onset is a new bar or a position that moves.
            var onsets: [[Int]] = []
            var position = -1
            for id in piece.ids {
                switch vocabulary.event(for: id) {
                case .bar?:
                    onsets.append([])
                    position = -1
                case let .position(p)? where p != position:
                    onsets.append([])
                    position = p
                case let .noteOn(p)?:
                    if onsets.isEmpty { onsets.append([]) }
                    onsets[onsets.count - 1].append(p)
                default: break
                }
            }
            return onsets.filter { !$0.isEmpty }
        }
        // A bias of 30 nats on one pitch's Note On: every onset's first note is it (a second
        // note at the same onset may not strike that key again, so it is another).
        guard let sixty = vocabulary.id(for: .noteOn(60)) else { Issue.record("no Note On 60"); return }
        var strong = [Float](repeating: 0, count: vocabulary.count)
        strong[sixty] = 30
        let biased = try pitches(strong), plain = try pitches(nil)
        #expect(
            !biased.isEmpty && biased.allSatisfy { $0.first == 60 && $0.dropFirst().allSatisfy { $0 != 60 } },
            "\(biased)")
        #expect(plain.joined().contains { $0 != 60 }, "\(plain)")
        // A bias of the wrong length is refused, not read past its end.
        #expect(throws: GenerationError.self) { try pitches([0, 1]) }
    }
}
