import Foundation
import Models
import REMI
import Tensor
import Testing
@testable import Generation

/// A model's measured generation precision (`decoding.json`): chosen by the rule, used only
/// with the weights it was measured on.
struct DecoderChoiceTests {
    @Test func int4IsChosenOnlyWithinTheToleranceOfInt8() {
        #expect(DecoderChoice.precision(int8: 2.0, int4: 2.0019, tolerance: 0.001) == .int4)
        #expect(DecoderChoice.precision(int8: 2.0, int4: 2.0021, tolerance: 0.001) == .int8)
        #expect(DecoderChoice.precision(int8: 2.0, int4: 1.9, tolerance: 0) == .int4)
        #expect(DecoderChoice.precision(int8: 2.0, int4: 2.0001, tolerance: 0) == .int8)
        #expect(DecoderChoice.precision(int8: .nan, int4: 1.0, tolerance: 0.5) == .int8)
        #expect(DecoderChoice.precision(int8: 1.0, int4: .infinity, tolerance: 0.5) == .int8)
        let choice = DecoderChoice(int8: 2.0, int4: 2.01, tokens: 10, data: "d", tolerance: 0.001, weightsChecksum: "x")
        #expect(choice.precision == .int8)
        #expect(abs((choice.int4Cost ?? 0) - 0.005) < 1e-12)
        #expect(choice.int4CostText == "+0.500 %")
    }

    @Test func aChoiceIsUsedOnlyWithTheWeightsItWasMeasuredOn() throws {
        let tokenizer = try REMITokenizer()
        let config = ModelConfig.tiny(.gpt2, vocabularySize: tokenizer.vocabulary.count)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cadenza-choice-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        func writeWeights(seed: UInt64) throws {
            let model = try GPT2(config: config, generator: SeededGenerator(seed: seed))
            try ModelFolder.write(
                weights: model.checkpoint(), config: config, vocabulary: tokenizer.vocabulary, to: folder)
        }
        try writeWeights(seed: 1)
        let plain = try ModelFolder.read(folder)
        #expect(plain.decoderChoice == nil && plain.ignoredDecoderChoice == nil)
        #expect(plain.generationPrecision == DecoderMatrix.Precision.fastest)

        let checksum = try DecoderChoice.checksum(ofWeightsAt: folder.appendingPathComponent(ModelFolder.weightsFile))
        let choice = DecoderChoice(
            int8: 3.0, int4: 3.0, tokens: 100, data: "test", tolerance: 0.001, weightsChecksum: checksum)
        #expect(choice.precision == .int4)
        try plain.save(choice)
        let measured = try ModelFolder.read(folder)
        #expect(measured.decoderChoice == choice)
        // int4 becomes the default only where its products have a vector kernel.
        let expected: DecoderMatrix.Precision = DecoderMatrix.Precision.fastest == .int8 ? .int4 : .fastest
        #expect(measured.generationPrecision == expected)
        func piece(_ stepper: TokenStepper) throws -> [Int] {
            var random = SeededGenerator(seed: 4)
            return try Generator(stepper: stepper, vocabulary: tokenizer.vocabulary, sampler: Sampler())
                .generate(stop: StopCondition(tokens: 40), generator: &random).ids
        }
        #expect(try piece(measured.stepper()) == piece(measured.stepper(precision: expected)))
        #expect(try Composer(model: measured).precision == expected)

        // A copy carries the choice with the weights.
        let copy = folder.appendingPathComponent("copy")
        try FileManager.default.createDirectory(at: copy, withIntermediateDirectories: true)
        try measured.copyFiles(to: copy)
        #expect(try ModelFolder.read(copy).decoderChoice == choice)

        // New weights do not inherit it, and a choice for other weights is not saved.
        try writeWeights(seed: 2)
        let retrained = try ModelFolder.read(folder)
        #expect(retrained.decoderChoice == nil)
        #expect(retrained.ignoredDecoderChoice?.contains("other weights") == true)
        #expect(retrained.generationPrecision == DecoderMatrix.Precision.fastest)
        #expect(throws: ModelFolderError.self) { try retrained.save(choice) }

        // An unreadable file is named, not used.
        try Data("{".utf8).write(to: folder.appendingPathComponent(ModelFolder.decodingFile))
        #expect(try ModelFolder.read(folder).ignoredDecoderChoice?.contains("cannot be read") == true)
    }

    @Test func theFileRoundTripsWithSnakeCaseKeys() throws {
        let choice = DecoderChoice(
            int8: 1.5, int4: 1.6, tokens: 7, data: "the validation split", tolerance: 0.01, weightsChecksum: "ab")
        let json = try choice.json()
        let object = try JSONSerialization.jsonObject(with: json) as? [String: Any]
        #expect(object?["weights_checksum"] as? String == "ab")
        #expect((object?["nll_per_token"] as? [String: Double])?["int4"] == 1.6)
        #expect(object?["precision"] as? String == "int8")
        #expect(try DecoderChoice.decode(json) == choice)
    }
}
