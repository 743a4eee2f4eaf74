import Tensor
import Testing
@testable import Corpus

@Suite struct BatchingTests {
    @Test func streamsAreContiguousAndSegmentsConsecutive() {
        // 0..<23 in 2 streams of 11 (the last token dropped), segments of 4: stream 0 is 0...10,
        // stream 1 is 11...21; batch t holds tokens [4t, 4t+4) of each, targets one further.
        let tokens = (0..<23).map { Int32($0) }
        let batches = StreamBatches(tokens: tokens, batch: 2, segmentLength: 4)
        #expect(batches.streamLength == 11)
        #expect(batches.count == 2)  // 10 targets per stream: two full segments of 4
        #expect(
            batches.batch(0)
                == Batch(tokens: [0, 1, 2, 3, 11, 12, 13, 14], targets: [1, 2, 3, 4, 12, 13, 14, 15], batch: 2))
        #expect(
            batches.batch(1)
                == Batch(tokens: [4, 5, 6, 7, 15, 16, 17, 18], targets: [5, 6, 7, 8, 16, 17, 18, 19], batch: 2))
        let evaluation = StreamBatches(tokens: tokens, batch: 2, segmentLength: 4, includesPartialSegment: true)
        #expect(evaluation.count == 3)
        #expect(evaluation.batch(2) == Batch(tokens: [8, 9, 19, 20], targets: [9, 10, 20, 21], batch: 2))
    }

    @Test func windowsCoverEveryTargetOnceInASeededOrder() {
        let tokens = (0..<41).map { Int32($0) }
        let shuffled = WindowBatches(tokens: tokens, batch: 2, contextLength: 5, shuffle: SeededShuffle(seed: 3))
        #expect(shuffled.windowCount == 8 && shuffled.count == 4)
        var targets: [Int32] = []
        for i in 0..<shuffled.count {
            let b = shuffled.batch(i)
            #expect(b.batch == 2 && b.tokens.count == 10)
            for w in 0..<2 {
                let row = Array(b.tokens[(w * 5)..<(w * 5 + 5)])
                #expect(
                    row[0] % 5 == 0 && row == (row[0]..<(row[0] + 5)).map { $0 }, "a window is 5 consecutive tokens")
                #expect(Array(b.targets[(w * 5)..<(w * 5 + 5)]) == row.map { $0 + 1 })
            }
            targets += b.targets
        }
        #expect(targets.sorted() == (1...40).map { Int32($0) })
        let plain = WindowBatches(tokens: tokens, batch: 2, contextLength: 5)
        #expect(plain.batch(0).tokens == (0..<10).map { Int32($0) })
        #expect(
            shuffled.batch(0) != plain.batch(0) || shuffled.batch(1) != plain.batch(1), "seed 3 reorders the windows")
        let again = WindowBatches(tokens: tokens, batch: 2, contextLength: 5, shuffle: SeededShuffle(seed: 3))
        #expect((0..<4).map(again.batch) == (0..<4).map(shuffled.batch))
    }

    @Test func validationSampleTakesWholePiecesSpreadOverTheSplit() {
        let pieces = (0..<20).map { p in [Int32](repeating: Int32(p), count: 10) }
        #expect(validationSample(pieces, tokens: 0).count == 200)
        #expect(validationSample(pieces, tokens: 500).count == 200)
        let sample = validationSample(pieces, tokens: 35)
        #expect(sample.count == 35)
        #expect(Set(sample).count == 4 && sample != Array(pieces.joined().prefix(35)))
        #expect(sample == validationSample(pieces, tokens: 35))
    }
}
