import Basics
import Evaluation
import Foundation
import Generation
import Tensor

extension ModelFolder {
    /// Measures what int4 costs this model against int8 and saves the choice beside its weights
    /// (`DecoderChoice`, `decoding.json`): `tokens` scored one token at a time through the
    /// generation decoder in each precision (Transformer-XL keeping `memoryLength` rows), each
    /// result passed to `scored` as it is known. `data` says in words what `tokens` are. Throws
    /// `CancellationError` (nothing written) when `shouldStop` says so while it reads; the end
    /// of `cadenza train` and `cadenza eval --choose-precision` both measure through this.
    public func measureDecoderChoice(
        tokens: [Int32], memoryLength: Int?, data: String, tolerance: Double = DecoderChoice.defaultTolerance,
        shouldStop: () -> Bool = { false }, scored: (DecoderMatrix.Precision, Double) -> Void = { _, _ in }
    ) throws -> DecoderChoice {
        let checksum = try DecoderChoice.checksum(ofWeightsAt: folder.appendingPathComponent(Self.weightsFile))
        var nll: [DecoderMatrix.Precision: Double] = [:]
        for precision in [DecoderMatrix.Precision.int8, .int4] {
            let report = try Perplexity.evaluateStepwise(
                stepper: stepper(memoryLength: memoryLength, precision: precision), tokens: tokens,
                memoryLength: memoryLength, vocabulary: tokenizer.vocabulary, shouldStop: shouldStop)
            nll[precision] = report.nllPerToken
            scored(precision, report.nllPerToken)
        }
        let choice = DecoderChoice(
            int8: nll[.int8] ?? .nan, int4: nll[.int4] ?? .nan, tokens: tokens.count - 1, data: data,
            tolerance: tolerance, weightsChecksum: checksum)
        try Interruption.whileWriting { try save(choice) }
        return choice
    }
}
