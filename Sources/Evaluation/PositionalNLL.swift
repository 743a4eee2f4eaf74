import Corpus
import Models
import REMI

/// NLL by position in the piece: where in a piece a model predicts well, and so how far back
/// a memory pays (issue 21). Each piece is read from its first token, and each target is
/// counted in the bucket of its own index in the piece.
public struct PositionalReport: Encodable, Equatable, Sendable {
    /// The NLL of the targets whose index in their piece lies in `from ..< to`.
    public struct Bucket: Encodable, Equatable, Sendable {
        /// First index in the piece (inclusive).
        public var from: Int
        /// End index (exclusive); nil: to the end of the piece.
        public var to: Int?
        /// Targets scored.
        public var tokens: Int
        /// Sum of -ln p over them, in nats.
        public var totalNLL: Double
        /// `Note On` targets among them.
        public var notes: Int

        /// Mean NLL per token, in nats.
        public var nllPerToken: Double { tokens > 0 ? totalNLL / Double(tokens) : .nan }
        /// NLL per note, in nats: the bucket's NLL over its notes.
        public var nllPerNote: Double { notes > 0 ? totalNLL / Double(notes) : .nan }

        private enum CodingKeys: String, CodingKey {
            case from, to, tokens, totalNLL = "total_nll", notes, nllPerToken = "nll_per_token"
            case nllPerNote = "nll_per_note"
        }

        public init(from: Int, to: Int?, tokens: Int = 0, totalNLL: Double = 0, notes: Int = 0) {
            (self.from, self.to, self.tokens, self.totalNLL, self.notes) = (from, to, tokens, totalNLL, notes)
        }

        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(from, forKey: .from)
            try c.encode(to, forKey: .to)
            try c.encode(tokens, forKey: .tokens)
            try c.encode(totalNLL, forKey: .totalNLL)
            try c.encode(notes, forKey: .notes)
            // JSON has no NaN: an empty bucket's figures are null.
            try c.encode(nllPerToken.isFinite ? nllPerToken : nil, forKey: .nllPerToken)
            try c.encode(nllPerNote.isFinite ? nllPerNote : nil, forKey: .nllPerNote)
        }
    }

    /// Transformer-XL's evaluation memory (nil for GPT-2).
    public var memoryLength: Int?
    /// GPT-2's window and the stride between windows (nil for Transformer-XL).
    public var window: Int?, stride: Int?
    /// The buckets, in order of position.
    public var buckets: [Bucket]
    /// Every target of every piece.
    public var all: Bucket

    private enum CodingKeys: String, CodingKey {
        case memoryLength = "mem_len", window, stride, buckets, all
    }

    /// The default buckets: [0, 512), [512, 2048), [2048, 8192), [8192, end).
    public static let defaultBoundaries = [512, 2048, 8192]
}

/// Scores whole pieces for `PositionalReport`s.
public enum PositionalEvaluation {
    /// The pieces of `tokens` (pieces joined, each ending with `endOfPiece`), each with its
    /// end-of-piece; a last piece cut short (as `--max-tokens` cuts one) has none, and gets none,
    /// so no target is scored that the data does not hold. Pieces of fewer than 2 tokens have no
    /// target and are left out.
    public static func pieces(of tokens: [Int32], endOfPiece: Int32) -> [[Int32]] {
        let parts = tokens.split(separator: endOfPiece, omittingEmptySubsequences: false)
        return parts.enumerated().map { i, part in i < parts.count - 1 ? Array(part) + [endOfPiece] : Array(part) }
            .filter { $0.count >= 2 }
    }

    /// The NLL of every target of `pieces` (each ending with end-of-piece, but for a last piece cut short), by position: the
    /// tokens at index 1 onward of each piece (so both architectures score the same tokens).
    ///
    /// Transformer-XL reads `batch` streams, each a run of whole pieces (the longest piece
    /// first into the stream shortest so far), padded at the end to one length with
    /// end-of-piece ids that are not scored; memory (`memoryLength` rows, 0 for none) starts
    /// empty and carries from segment to segment, across pieces as in training. GPT-2 reads each
    /// piece in windows of `window` tokens `stride` apart: the first window scores all of its
    /// targets, each later one only the targets no window has scored, so every target but the
    /// first `window` of a piece sees `window - stride` earlier tokens or more.
    public static func score(
        model: LanguageModel, pieces: [[Int32]], batch: Int, memoryLength: Int? = nil, window: Int? = nil,
        stride: Int? = nil, boundaries: [Int] = PositionalReport.defaultBoundaries, vocabulary: Vocabulary
    ) throws -> PositionalReport {
        let edges = [0] + boundaries
        var report = PositionalReport(
            memoryLength: nil, window: nil, stride: nil,
            buckets: edges.indices.map {
                PositionalReport.Bucket(from: edges[$0], to: $0 + 1 < edges.count ? edges[$0 + 1] : nil)
            }, all: PositionalReport.Bucket(from: 0, to: nil))
        func count(_ nll: Float, position: Int, target: Int32) {
            let b = edges.lastIndex { $0 <= position } ?? 0
            let note = Perplexity.isNote(target, in: vocabulary) ? 1 : 0
            report.buckets[b].tokens += 1
            report.buckets[b].totalNLL += Double(nll)
            report.buckets[b].notes += note
            report.all.tokens += 1
            report.all.totalNLL += Double(nll)
            report.all.notes += note
        }
        let end = Int32(vocabulary.endOfPieceID)
        switch model.network {
        case .transformerXL:
            report.memoryLength = memoryLength ?? model.config.memoryLength
            let streams = Self.streams(of: pieces, count: max(1, min(batch, pieces.count)), padding: end)
            let B = streams.count, L = streams[0].tokens.count, T = model.config.segmentLength
            var memory = model.emptyMemory(batch: B, memoryLength: memoryLength)
            var start = 0
            while start < L - 1 {
                let t = min(T, L - 1 - start)
                var tokens: [Int32] = [], targets: [Int32] = []
                for s in streams {
                    tokens += s.tokens[start..<(start + t)]
                    targets += s.tokens[(start + 1)..<(start + 1 + t)]
                }
                let nll = try model.targetNLLs(tokens: tokens, targets: targets, batch: B, memory: &memory)
                for (b, s) in streams.enumerated() {
                    for j in 0..<t where s.positions[start + 1 + j] >= 1 {
                        count(nll[b * t + j], position: s.positions[start + 1 + j], target: targets[b * t + j])
                    }
                }
                start += t
            }
        case .gpt2:
            let W = max(2, min(window ?? model.config.segmentLength, model.config.positions))
            let S = max(1, min(stride ?? W / 2, W))
            (report.window, report.stride) = (W, S)
            // Each window: its W inputs (padded), and which of its targets it scores.
            var windows: [(tokens: [Int32], targets: [Int32], scored: Range<Int>, first: Int)] = []
            for piece in pieces where piece.count >= 2 {
                var begin = 0
                var scoredUpTo = 0  // targets (by index in the piece) already scored
                while scoredUpTo < piece.count - 1 {
                    let inputs = Array(piece[begin..<min(begin + W, piece.count - 1)])
                    let targets = Array(piece[(begin + 1)..<(begin + 1 + inputs.count)])
                    let firstNew = max(scoredUpTo + 1, begin + 1) - (begin + 1)
                    windows.append(
                        (
                            inputs + [Int32](repeating: end, count: W - inputs.count),
                            targets + [Int32](repeating: end, count: W - targets.count),
                            firstNew..<targets.count, begin + 1
                        ))
                    scoredUpTo = begin + targets.count
                    begin += S
                }
            }
            var index = 0
            while index < windows.count {
                let chosen = windows[index..<min(index + batch, windows.count)]
                var memory: Memory? = nil
                let nll = try model.targetNLLs(
                    tokens: chosen.flatMap(\.tokens), targets: chosen.flatMap(\.targets), batch: chosen.count,
                    memory: &memory)
                for (w, window) in chosen.enumerated() {
                    for j in window.scored {
                        count(nll[w * W + j], position: window.first + j, target: window.targets[j])
                    }
                }
                index += batch
            }
        }
        return report
    }

    /// `pieces` laid into `count` streams of whole pieces (the longest first, each into the
    /// shortest stream so far), padded to one length with `padding`; each token's index in its
    /// piece, -1 for padding.
    static func streams(of pieces: [[Int32]], count: Int, padding: Int32) -> [(tokens: [Int32], positions: [Int])] {
        var streams = [(tokens: [Int32], positions: [Int])](repeating: ([], []), count: count)
        let order = pieces.indices.sorted { (pieces[$0].count, $1) > (pieces[$1].count, $0) }
        for i in order {
            let shortest = streams.indices.min { (streams[$0].tokens.count, $0) < (streams[$1].tokens.count, $1) }!
            streams[shortest].tokens += pieces[i]
            streams[shortest].positions += Array(0..<pieces[i].count)
        }
        let length = streams.map(\.tokens.count).max() ?? 0
        for s in streams.indices {
            let missing = length - streams[s].tokens.count
            streams[s].tokens += [Int32](repeating: padding, count: missing)
            streams[s].positions += [Int](repeating: -1, count: missing)
        }
        return streams
    }
}
