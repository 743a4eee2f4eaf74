import Basics
import Foundation
import Tensor

/// The weight precision a model generates with when none is asked for, chosen by measuring
/// what int4 costs against int8 on held-out music (at the end of `cadenza train`, or by
/// `cadenza eval --choose-precision`) and saved beside the weights as `decoding.json`.
///
/// int4 reads half of int8's bytes per token, which is what a generation step waits on where
/// int8's weights outgrow the cores' caches (docs/benchmarks.md), but what it costs in NLL
/// depends on the model: nothing measurable for some, too much for others (docs/generation.md,
/// "Precision"). So the choice is made per model, from a measurement,
/// and tied to the weights it was measured on by their checksum: weights written later (a
/// resumed run, an export) never inherit it.
public struct DecoderChoice: Codable, Equatable, Sendable {
    /// The precision chosen: int4 where its NLL is within `tolerance` of int8's, else int8.
    public var precision: DecoderMatrix.Precision
    /// NLL per token of each measured precision (`int8`, `int4`), one token at a time through
    /// the generation decoder, as `eval --decoder-precision` scores it.
    public var nllPerToken: [String: Double]
    /// Tokens scored.
    public var tokens: Int
    /// What was scored, in words (the data and split).
    public var data: String
    /// The largest relative NLL increase int4 may cost and still be chosen.
    public var tolerance: Double
    /// `checksum(ofWeightsAt:)` of the weights measured.
    public var weightsChecksum: String

    /// The tolerance training and `eval --choose-precision` use unless told otherwise: a
    /// thousandth of int8's NLL.
    public static let defaultTolerance = 0.001

    /// The choice for these measurements: int4 when its NLL is at most (1 + `tolerance`) times
    /// int8's, else int8 (also when either is not a finite number).
    public static func precision(int8: Double, int4: Double, tolerance: Double) -> DecoderMatrix.Precision {
        guard int8.isFinite, int4.isFinite, tolerance >= 0 else { return .int8 }
        return int4 <= int8 + abs(int8) * tolerance ? .int4 : .int8
    }

    /// A choice made from these measurements.
    public init(int8: Double, int4: Double, tokens: Int, data: String, tolerance: Double, weightsChecksum: String) {
        self.precision = Self.precision(int8: int8, int4: int4, tolerance: tolerance)
        self.nllPerToken = ["int8": int8, "int4": int4]
        self.tokens = tokens
        self.data = data
        self.tolerance = tolerance
        self.weightsChecksum = weightsChecksum
    }

    /// The relative NLL int4 costs against int8 (0.01 = 1 %); nil without both figures.
    public var int4Cost: Double? {
        guard let int8 = nllPerToken["int8"], let int4 = nllPerToken["int4"], int8 != 0 else { return nil }
        return (int4 - int8) / abs(int8)
    }

    /// `int4Cost` as the commands print it: a signed percentage ("+0.270 %"), "?" without it.
    public var int4CostText: String {
        int4Cost.map { String(format: "%+.3f %%", 100 * $0) } ?? "?"
    }

    /// The checksum that ties a choice to its weights: 64-bit FNV-1a of the weights file's
    /// bytes, as 16 hex digits.
    public static func checksum(ofWeightsAt url: URL) throws -> String {
        FNV1a.hex(FNV1a.hash(try Data(contentsOf: url, options: .alwaysMapped)))
    }

    /// The JSON written to `decoding.json` (sorted keys, snake case), indented unless `pretty`
    /// is false (one line, as `--json` prints it).
    public func json(pretty: Bool = true) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return try encoder.encode(self)
    }

    /// The choice in `data` (`decoding.json`), or why it cannot be read.
    public static func decode(_ data: Data) throws -> DecoderChoice {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(DecoderChoice.self, from: data)
    }
}
