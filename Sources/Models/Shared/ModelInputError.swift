/// Why a model call's input is unusable.
public enum ModelInputError: Error, CustomStringConvertible, Equatable {
    /// A token id outside the vocabulary, at flat index `index`.
    case tokenOutOfRange(token: Int32, index: Int, vocabulary: Int)
    /// `count` tokens do not fill `batch` rows evenly (or the batch is empty).
    case raggedBatch(count: Int, batch: Int)
    /// The memory was built for another batch size, layer count or width.
    case memoryMismatch(expected: String, found: String)
    /// More positions than a GPT-2 can read.
    case contextTooLong(length: Int, positions: Int)
    /// Targets must match the tokens one for one.
    case targetCount(tokens: Int, targets: Int)

    public var description: String {
        switch self {
        case let .tokenOutOfRange(token, index, vocabulary):
            return "token \(token) at index \(index) is outside the vocabulary 0..<\(vocabulary)"
        case let .raggedBatch(count, batch): return "\(count) tokens cannot be split into \(batch) equal streams"
        case let .memoryMismatch(expected, found):
            return "memory does not fit the model: expected \(expected), found \(found)"
        case let .contextTooLong(length, positions):
            return "context of \(length) tokens exceeds the model's \(positions) learned positions"
        case let .targetCount(tokens, targets): return "\(targets) targets for \(tokens) tokens"
        }
    }

    /// Checks that `tokens` split into `batch` streams and all lie in the vocabulary.
    static func check(_ tokens: [Int32], targets: [Int32]?, batch: Int, vocabulary: Int) throws {
        guard batch > 0, !tokens.isEmpty, tokens.count % batch == 0 else {
            throw ModelInputError.raggedBatch(count: tokens.count, batch: batch)
        }
        if let targets, targets.count != tokens.count {
            throw ModelInputError.targetCount(tokens: tokens.count, targets: targets.count)
        }
        for (index, t) in (tokens + (targets ?? [])).enumerated() where t < 0 || Int(t) >= vocabulary {
            throw ModelInputError.tokenOutOfRange(token: t, index: index % tokens.count, vocabulary: vocabulary)
        }
    }
}
