import Corpus
import Models
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Negative log-likelihood of a model on a token sequence: the one measure used for
/// validation during training and by `cadenza eval`, so the two report the same number.
public struct NLLResult: Equatable, Sendable {
    /// Sum of -ln p(target) over every target (nats).
    public var totalNLL: Double
    /// Targets scored.
    public var tokens: Int
    /// Scored targets that are notes, when the caller asked for them to be counted (else 0).
    public var notes = 0

    /// Mean NLL per token (nats); perplexity is its exponential.
    public var perToken: Double { tokens > 0 ? totalNLL / Double(tokens) : .nan }
    /// exp(perToken).
    public var perplexity: Double { exp(perToken) }
}

/// Scores token sequences without dropout.
public enum Validation {
    /// The NLL of `tokens` (one sequence, pieces joined by end-of-piece ids) under `model`.
    ///
    /// Transformer-XL reads the sequence as the training batching does: B contiguous streams
    /// in segments of `segmentLength` (the last one shorter), memory starting empty and
    /// carried between segments, keeping `memoryLength` rows (default: the config's; a longer
    /// evaluation memory is allowed by the relative encoding). GPT-2 reads windows of
    /// `segmentLength` (at most its positions), each on its own. Every target in the B streams
    /// is scored once; the last `tokens.count mod B` tokens are not read. `isNote`, when given,
    /// counts the scored targets that are notes, so that a figure per note divides by the notes
    /// whose NLL is in the sum.
    public static func negativeLogLikelihood(
        model: LanguageModel, tokens: [Int32], batch: Int,
        segmentLength: Int? = nil, memoryLength: Int? = nil, isNote: ((Int32) -> Bool)? = nil
    ) throws -> NLLResult {
        let T = segmentLength ?? model.config.segmentLength
        let batches: BatchSequence
        switch model.network {
        case .transformerXL:
            batches = StreamBatches(tokens: tokens, batch: batch, segmentLength: T, includesPartialSegment: true)
        case .gpt2:
            batches = WindowBatches(
                tokens: tokens, batch: batch, contextLength: min(T, model.config.positions),
                includesPartialBatch: true)
        }
        var memory = model.emptyMemory(batch: batch, memoryLength: memoryLength)
        var result = NLLResult(totalNLL: 0, tokens: 0)
        for index in 0..<batches.count {
            let b = batches.batch(index)
            if memory != nil && memory!.batch != b.batch {
                memory = model.emptyMemory(batch: b.batch, memoryLength: memoryLength)
            }
            let loss = try model.loss(tokens: b.tokens, targets: b.targets, batch: b.batch, memory: &memory)
            result.totalNLL += Double(loss) * Double(b.targets.count)
            result.tokens += b.targets.count
            if let isNote { result.notes += b.targets.reduce(0) { $0 + (isNote($1) ? 1 : 0) } }
        }
        return result
    }
}
