/// One training or evaluation batch: B rows of T input ids and the id that follows each.
public struct Batch: Equatable, Sendable {
    /// Input ids, row-major [B, T].
    public var tokens: [Int32]
    /// The next id after each input, [B, T].
    public var targets: [Int32]
    /// B.
    public var batch: Int
    /// T.
    public var length: Int { tokens.count / max(batch, 1) }

    /// The rows `streams` of this batch (a process's share of it in data-parallel training).
    public func rows(_ streams: Range<Int>) -> Batch {
        let T = length
        return Batch(
            tokens: Array(tokens[(streams.lowerBound * T)..<(streams.upperBound * T)]),
            targets: Array(targets[(streams.lowerBound * T)..<(streams.upperBound * T)]), batch: streams.count)
    }
}

/// The batches of one pass over a token sequence, in the order they are read.
public protocol BatchSequence {
    /// Number of batches.
    var count: Int { get }
    /// Batch `index` (0-based, `index < count`).
    func batch(_ index: Int) -> Batch
}

/// Transformer-XL's stream batching (spec, "Training as in the reference"; the reference's
/// `LMOrderedIterator`): the corpus is cut into B contiguous streams of equal length and batch
/// t holds tokens [tT, (t+1)T) of every stream, so the memory carried from batch t to t+1
/// continues the same music.
public struct StreamBatches: BatchSequence {
    /// B: number of streams.
    public let batch: Int
    /// T: tokens per segment.
    public let segmentLength: Int
    /// Tokens per stream (L); the last `(N mod B)` tokens of the corpus are dropped.
    public let streamLength: Int
    /// Whether a final shorter segment is read (evaluation: every target counts once);
    /// training keeps segments of exactly T.
    public let includesPartialSegment: Bool
    private let streams: [Int32]

    /// Cuts `tokens` into `batch` streams. Needs at least `batch * 2` tokens.
    public init(tokens: [Int32], batch: Int, segmentLength: Int, includesPartialSegment: Bool = false) {
        self.batch = batch
        self.segmentLength = segmentLength
        self.includesPartialSegment = includesPartialSegment
        streamLength = tokens.count / batch
        streams = Array(tokens.prefix(streamLength * batch))
    }

    /// Segments in one pass: each stream of L tokens has L - 1 targets.
    public var count: Int {
        let targets = max(streamLength - 1, 0)
        return includesPartialSegment ? (targets + segmentLength - 1) / segmentLength : targets / segmentLength
    }

    public func batch(_ index: Int) -> Batch {
        let start = index * segmentLength
        let T = min(segmentLength, streamLength - 1 - start)
        var tokens = [Int32](), targets = [Int32]()
        tokens.reserveCapacity(batch * T)
        targets.reserveCapacity(batch * T)
        for b in 0..<batch {
            let row = b * streamLength + start
            tokens.append(contentsOf: streams[row..<(row + T)])
            targets.append(contentsOf: streams[(row + 1)..<(row + 1 + T)])
        }
        return Batch(tokens: tokens, targets: targets, batch: batch)
    }

    /// The fewest corpus tokens that give one full training batch.
    public static func minimumTokens(batch: Int, segmentLength: Int) -> Int { batch * (segmentLength + 1) }
}

/// GPT-2's batching: the corpus cut into windows of T + 1 tokens (T inputs, T targets) at a
/// stride of T, so every token is a target once per pass; the windows are read in an order
/// shuffled by a seeded generator, B windows per batch. Nothing crosses a window boundary.
public struct WindowBatches: BatchSequence {
    /// B: windows per batch.
    public let batch: Int
    /// T: the context window.
    public let contextLength: Int
    private let tokens: [Int32]
    private let order: [Int]
    /// Whether the last, shorter batch is read (evaluation).
    public let includesPartialBatch: Bool

    /// Windows of `tokens` read in the order `shuffle` (if given) puts them in.
    public init(
        tokens: [Int32], batch: Int, contextLength: Int, shuffle: SeededShuffle? = nil,
        includesPartialBatch: Bool = false
    ) {
        self.batch = batch
        self.contextLength = contextLength
        self.tokens = tokens
        self.includesPartialBatch = includesPartialBatch
        let windows = max(tokens.count - 1, 0) / contextLength
        let indices = Array(0..<windows)
        order = shuffle.map { $0.apply(indices) } ?? indices
    }

    /// Full windows in the corpus.
    public var windowCount: Int { order.count }

    public var count: Int { includesPartialBatch ? (order.count + batch - 1) / batch : order.count / batch }

    public func batch(_ index: Int) -> Batch {
        let chosen = order[(index * batch)..<min(order.count, (index + 1) * batch)]
        var result = Batch(tokens: [], targets: [], batch: chosen.count)
        for window in chosen {
            let start = window * contextLength
            result.tokens.append(contentsOf: tokens[start..<(start + contextLength)])
            result.targets.append(contentsOf: tokens[(start + 1)...(start + contextLength)])
        }
        return result
    }

    /// The fewest corpus tokens that give one full training batch.
    public static func minimumTokens(batch: Int, contextLength: Int) -> Int { batch * contextLength + 1 }
}

import Tensor
