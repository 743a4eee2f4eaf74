import Foundation
import Models
import REMI
import Corpus

/// How well a model predicts a token sequence: NLL per token, perplexity, bits per token and
/// NLL per note, at one evaluation memory length.
///
/// The NLL itself is `Validation.negativeLogLikelihood` (Sources/Training/Validation.swift),
/// the function the training loop validates with, so `cadenza eval` and training report the
/// same number for the same checkpoint, data and batch.
public struct NLLReport: Codable, Equatable, Sendable {
    /// Transformer-XL's evaluation memory (rows per layer); nil for GPT-2.
    public var memoryLength: Int?
    /// Targets scored.
    public var tokens: Int
    /// Sum of -ln p over the scored targets, in nats.
    public var totalNLL: Double
    /// Notes (`Note On` ids) per scored target.
    public var notesPerToken: Double
    /// Control tokens read and scored besides `tokens` (docs/control.md): their NLL is in
    /// `totalNLL` but `tokens` counts the music only, so `nllPerToken` is an upper bound on the
    /// music's own NLL per token (-ln p(music) <= -ln p(music, controls)). 0 for a plain stream.
    public var controlTokens = 0

    /// Mean NLL per token, in nats.
    public var nllPerToken: Double { tokens > 0 ? totalNLL / Double(tokens) : .nan }
    /// exp(NLL per token).
    public var perplexity: Double { exp(nllPerToken) }
    /// NLL per token in bits (nats / ln 2).
    public var bitsPerToken: Double { nllPerToken / log(2) }
    /// NLL per note, in nats: the NLL of the scored targets divided by the notes among them,
    /// that is NLL per token times tokens per note. It compares models whose tokenizers spend
    /// different numbers of tokens on a note.
    public var nllPerNote: Double { notesPerToken > 0 ? nllPerToken / notesPerToken : .nan }

    private enum CodingKeys: String, CodingKey {
        case memoryLength = "mem_len", tokens, totalNLL = "total_nll", notesPerToken = "notes_per_token"
        case nllPerToken = "nll_per_token", perplexity, bitsPerToken = "bits_per_token", nllPerNote = "nll_per_note"
        case controlTokens = "control_tokens"
    }

    /// A report from its measured parts.
    public init(memoryLength: Int?, tokens: Int, totalNLL: Double, notesPerToken: Double) {
        self.memoryLength = memoryLength
        self.tokens = tokens
        self.totalNLL = totalNLL
        self.notesPerToken = notesPerToken
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        memoryLength = try c.decodeIfPresent(Int.self, forKey: .memoryLength)
        tokens = try c.decode(Int.self, forKey: .tokens)
        totalNLL = try c.decode(Double.self, forKey: .totalNLL)
        notesPerToken = try c.decode(Double.self, forKey: .notesPerToken)
        controlTokens = try c.decodeIfPresent(Int.self, forKey: .controlTokens) ?? 0
    }

    /// Writes the measured parts and the derived figures; every key is present, null for a
    /// figure that does not exist (GPT-2's memory, a NaN) as docs/cli.md says of all JSON.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(memoryLength, forKey: .memoryLength)
        try c.encode(tokens, forKey: .tokens)
        try c.encode(totalNLL, forKey: .totalNLL)
        try c.encode(notesPerToken, forKey: .notesPerToken)
        try c.encode(controlTokens, forKey: .controlTokens)
        for (key, value) in [
            (CodingKeys.nllPerToken, nllPerToken), (.perplexity, perplexity),
            (.bitsPerToken, bitsPerToken), (.nllPerNote, nllPerNote),
        ] {
            try c.encode(value.isFinite ? value : nil, forKey: key)
        }
    }
}

extension NLLReport {
    /// The report counted per music token: `controls` of its scored tokens were control
    /// tokens, and `notesPerMusicToken` is the music's own note density.
    public func perMusicToken(controls: Int, notesPerMusicToken: Double) -> NLLReport {
        guard controls > 0 else { return self }
        var report = self
        report.tokens = max(tokens - controls, 0)
        report.controlTokens = controls
        report.notesPerToken = notesPerMusicToken
        return report
    }
}

/// Scores models on token sequences.
public enum Perplexity {
    /// The report of `model` on `tokens` (pieces joined, each ending with end-of-piece) read
    /// as `batch` streams, with `memoryLength` rows of Transformer-XL memory (nil: the model's
    /// mem_len; ignored for GPT-2). `vocabulary` tells which ids are notes.
    public static func evaluate(
        model: LanguageModel, tokens: [Int32], batch: Int, memoryLength: Int? = nil,
        vocabulary: Vocabulary
    ) throws -> NLLReport {
        let result = try Validation.negativeLogLikelihood(
            model: model, tokens: tokens, batch: batch,
            memoryLength: memoryLength, isNote: { isNote($0, in: vocabulary) })
        let isTXL = model.config.kind == .transformerXL
        return NLLReport(
            memoryLength: isTXL ? (memoryLength ?? model.config.memoryLength) : nil,
            tokens: result.tokens, totalNLL: result.totalNLL,
            notesPerToken: result.tokens > 0 ? Double(result.notes) / Double(result.tokens) : 0)
    }

    /// The report of `stepper` on `tokens` read one token at a time, as generation reads
    /// them: the stepper's own decoder (its weight precision, its memory or window), each
    /// token's log-probability taken from the step before it. `memoryLength` is only
    /// reported. This is how to see what a decoder precision costs in NLL. `shouldStop` is asked
    /// between tokens; when it says so, the reading ends with `CancellationError`.
    public static func evaluateStepwise(
        stepper: TokenStepper, tokens: [Int32], memoryLength: Int?,
        vocabulary: Vocabulary, shouldStop: () -> Bool = { false }
    ) throws -> NLLReport {
        guard tokens.count >= 2 else {
            return NLLReport(memoryLength: memoryLength, tokens: 0, totalNLL: 0, notesPerToken: 0)
        }
        let V = stepper.vocabularySize
        if let t = tokens.indices.dropFirst().first(where: { tokens[$0] < 0 || Int(tokens[$0]) >= V }) {
            throw ModelInputError.tokenOutOfRange(token: tokens[t], index: t, vocabulary: V)
        }
        var total = 0.0
        /// Scores tokens[t] by the distribution after tokens[t - 1].
        func score(_ t: Int, _ next: UnsafeBufferPointer<Float>) throws {
            total -= Double(next[Int(tokens[t])])
            if t % 256 == 0, shouldStop() { throw CancellationError() }
        }
        try score(1, try stepper.prime([tokens[0]]))
        // The last token is scored, never read.
        try stepper.read(tokens[1..<tokens.count - 1]) { i, next in try score(i + 2, next) }
        // The first token is read, not scored.
        return NLLReport(
            memoryLength: memoryLength, tokens: tokens.count - 1, totalNLL: total,
            notesPerToken: notesPerToken(Array(tokens.dropFirst()), vocabulary: vocabulary))
    }

    /// `Note On` ids per id in `tokens`.
    public static func notesPerToken(_ tokens: [Int32], vocabulary: Vocabulary) -> Double {
        guard !tokens.isEmpty else { return 0 }
        return Double(tokens.filter { isNote($0, in: vocabulary) }.count) / Double(tokens.count)
    }

    /// Whether `id` is a `Note On` token: what "per note" figures count.
    public static func isNote(_ id: Int32, in vocabulary: Vocabulary) -> Bool {
        if case .noteOn = vocabulary.event(for: Int(id)) { return true }
        return false
    }

    /// The batch the training loop validates with (`Trainer.validate`): the run's batch, but
    /// no more streams than give each at least one segment of `segmentLength` + 1 tokens.
    public static func validationBatch(runBatch: Int, tokens: Int, segmentLength: Int) -> Int {
        max(1, min(runBatch, tokens / (segmentLength + 1)))
    }
}
