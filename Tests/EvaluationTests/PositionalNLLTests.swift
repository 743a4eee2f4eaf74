import Corpus
import Foundation
import Models
import REMI
import Tensor
import Testing
@testable import Evaluation

/// NLL by position in the piece (issue 21): whole pieces read from their first token, each
/// target counted at its index in its piece, and the same numbers as the plain evaluation
/// where the two read the same segments.
@Suite struct PositionalNLLTests {
    static let vocabulary = try! REMITokenizer().vocabulary

    /// Seeded random pieces of the given lengths, each ending with end-of-piece.
    static func pieces(_ lengths: [Int], seed: UInt64) -> [[Int32]] {
        var g = SeededGenerator(seed: seed)
        let end = Int32(vocabulary.endOfPieceID)
        return lengths.map { n in
            (0..<(n - 1)).map { _ in Int32.random(in: 3..<Int32(vocabulary.count), using: &g) } + [end]
        }
    }

    /// Pieces keep their end-of-piece; a last piece cut short gets none (it had one added, a
    /// target the data does not hold, scored at a position far past its real length).
    @Test func aPieceCutShortGetsNoEndOfPiece() {
        let eop: Int32 = 0
        #expect(
            PositionalEvaluation.pieces(of: [5, 6, eop, 7, 8, 9, eop, 4, 3], endOfPiece: eop)
                == [[5, 6, eop], [7, 8, 9, eop], [4, 3]])
        #expect(
            PositionalEvaluation.pieces(of: [5, 6, eop, eop, 7, eop], endOfPiece: eop) == [[5, 6, eop], [7, eop]])
        #expect(PositionalEvaluation.pieces(of: [5, eop, 9], endOfPiece: eop) == [[5, eop]])
    }

    @Test func piecesAreLaidWholeIntoStreamsOfOneLength() {
        let pieces = Self.pieces([5, 3, 4, 2, 6], seed: 1)
        let streams = PositionalEvaluation.streams(of: pieces, count: 2, padding: 2)
        // 6 -> s0, 5 -> s1, 4 -> s1 (5 < 6), 3 -> s0 (6 < 9), 2 -> s0 (9 = 9, the first).
        #expect(streams[0].tokens == pieces[4] + pieces[1] + pieces[3])
        #expect(streams[0].tokens.count == 11 && streams[1].tokens.count == 11)
        #expect(streams[1].tokens == pieces[0] + pieces[2] + [2, 2])
        #expect(streams[0].positions == Array(0..<6) + Array(0..<3) + Array(0..<2))
        #expect(streams[1].positions == Array(0..<5) + Array(0..<4) + [-1, -1])
    }

    /// One piece in one stream: the segments and memory of `Validation`, so the same total;
    /// the buckets add up to it and hold the targets at their indices.
    @Test func transformerXLInOneStreamIsThePlainEvaluation() throws {
        let config = ModelConfig.tiny(.transformerXL, vocabularySize: Self.vocabulary.count)
        let model = try LanguageModel(config: config, seed: 3)
        let piece = Self.pieces([3 * config.segmentLength + 7], seed: 2)
        let report = try PositionalEvaluation.score(
            model: model, pieces: piece, batch: 1, boundaries: [10, 50], vocabulary: Self.vocabulary)
        let plain = try Validation.negativeLogLikelihood(model: model, tokens: piece[0], batch: 1)
        #expect(report.all.tokens == plain.tokens && plain.tokens == piece[0].count - 1)
        #expect(abs(report.all.totalNLL - plain.totalNLL) < 1e-4 * plain.totalNLL)
        #expect(report.buckets.map(\.tokens) == [9, 40, piece[0].count - 50])
        #expect(abs(report.buckets.map(\.totalNLL).reduce(0, +) - report.all.totalNLL) < 1e-6 * report.all.totalNLL)
        let notes = piece[0].dropFirst().filter {
            if case .noteOn = Self.vocabulary.event(for: Int($0)) { return true } else { return false }
        }.count
        #expect(report.all.notes == notes && notes > 0)
        #expect(report.memoryLength == config.memoryLength)
    }

    /// Several pieces in several streams score every piece's targets once (index 1 onward),
    /// and a longer memory changes the figures (it is read).
    @Test func transformerXLScoresEveryPieceOnce() throws {
        let config = ModelConfig.tiny(.transformerXL, vocabularySize: Self.vocabulary.count)
        let model = try LanguageModel(config: config, seed: 3)
        let pieces = Self.pieces([40, 90, 17, 63, 55], seed: 4)
        let short = try PositionalEvaluation.score(
            model: model, pieces: pieces, batch: 2, memoryLength: 0, vocabulary: Self.vocabulary)
        let long = try PositionalEvaluation.score(
            model: model, pieces: pieces, batch: 2, memoryLength: 64, vocabulary: Self.vocabulary)
        #expect(short.all.tokens == pieces.reduce(0) { $0 + $1.count - 1 })
        #expect(long.all.tokens == short.all.tokens)
        #expect(short.all.totalNLL != long.all.totalNLL)
    }

    /// GPT-2 with the stride equal to the window reads the plain evaluation's windows; with a
    /// smaller stride it scores the same targets, each once.
    @Test func gpt2WindowsScoreEachTargetOnce() throws {
        let config = ModelConfig.tiny(.gpt2, vocabularySize: Self.vocabulary.count)
        let model = try LanguageModel(config: config, seed: 5)
        let W = config.positions
        let piece = Self.pieces([3 * W + 1], seed: 6)
        let plain = try Validation.negativeLogLikelihood(model: model, tokens: piece[0], batch: 2)
        let tiled = try PositionalEvaluation.score(
            model: model, pieces: piece, batch: 2, window: W, stride: W, vocabulary: Self.vocabulary)
        #expect(tiled.all.tokens == plain.tokens)
        #expect(abs(tiled.all.totalNLL - plain.totalNLL) < 1e-4 * plain.totalNLL)
        let pieces = Self.pieces([3 * W + 1, W / 2, 2 * W + 5], seed: 7)
        let sliding = try PositionalEvaluation.score(
            model: model, pieces: pieces, batch: 3, window: W, stride: W / 4, vocabulary: Self.vocabulary)
        #expect(sliding.all.tokens == pieces.reduce(0) { $0 + $1.count - 1 })
        #expect((sliding.window, sliding.stride) == (W, W / 4))
    }
}

/// An empty bucket (pieces shorter than its first position) has no NLL: null in the JSON, which
/// has no NaN, rather than an encoding error.
@Test func anEmptyBucketIsNullInJSON() throws {
    let config = ModelConfig.tiny(.gpt2, vocabularySize: PositionalNLLTests.vocabulary.count)
    let report = try PositionalEvaluation.score(
        model: LanguageModel(config: config, seed: 1), pieces: PositionalNLLTests.pieces([40], seed: 9), batch: 1,
        vocabulary: PositionalNLLTests.vocabulary)
    #expect(report.buckets.last?.tokens == 0 && report.buckets.last?.nllPerToken.isNaN == true)
    let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(report)) as? [String: Any]
    let last = try #require((json?["buckets"] as? [[String: Any]])?.last)
    #expect(last["nll_per_token"] is NSNull && last["to"] is NSNull)
}
