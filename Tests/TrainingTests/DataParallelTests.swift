import Corpus
import Foundation
@testable import Models
import Tensor
import Testing
@testable import Training

/// Data-parallel training's arithmetic, without MPI: a batch cut into shares, each share's
/// gradients weighted by its share of the targets and summed in rank order, gives the whole
/// batch's loss and gradients (the same dropout masks included), and a memory cut into
/// shares and joined is the memory it was. The processes themselves are tested with
/// `mpirun` in CLITests (DataParallelCLITests).
@Suite struct DataParallelTests {
    /// Loss and gradients of `batch` in `shares` shares, combined as `ProcessGroup.sum` does.
    func sharedPass(_ model: LanguageModel, _ batch: Batch, shares: Int, memoryLength: Int)
        throws -> (loss: Float, gradients: [[Float]])
    {
        var loss: Float = 0
        var sums = model.gradients.map { [Float](repeating: 0, count: $0.tensor.count) }
        for rank in 0..<shares {
            let group = (rank * batch.batch / shares)..<((rank + 1) * batch.batch / shares)
            let mine = batch.rows(group)
            var memory = model.emptyMemory(batch: group.count, memoryLength: memoryLength)
            var dropout = DropoutSource.training(SeededGenerator(seed: 99), firstStream: group.lowerBound)
            let part = try model.lossAndGradients(
                tokens: mine.tokens, targets: mine.targets, batch: mine.batch, memory: &memory, dropout: &dropout)
            let share = Float(mine.targets.count) / Float(batch.targets.count)
            loss += part * share
            for (i, g) in model.gradients.enumerated() {
                for j in 0..<g.tensor.count { sums[i][j] += g.tensor.pointer[j] * share }
            }
        }
        return (loss, sums)
    }

    @Test(arguments: [ModelKind.transformerXL, .gpt2])
    func aBatchInSharesGivesTheWholeBatchsLossAndGradients(kind: ModelKind) throws {
        let config = Fixtures.tinyConfig(kind)
        let model = try LanguageModel(config: config, seed: 5)
        let pieces = Fixtures.patternPieces(count: 1, length: 4 * 17 + 1, seed: 3)[0]
        let batch = StreamBatches(tokens: pieces, batch: 4, segmentLength: 16).batch(0)
        var whole = model.emptyMemory(batch: 4, memoryLength: 0)
        var dropout = DropoutSource.training(SeededGenerator(seed: 99))
        let loss = try model.lossAndGradients(
            tokens: batch.tokens, targets: batch.targets, batch: 4, memory: &whole, dropout: &dropout)
        let gradients = model.gradients.map { $0.tensor.values }
        for shares in [2, 4] {
            let split = try sharedPass(model, batch, shares: shares, memoryLength: 0)
            #expect(abs(split.loss - loss) < 1e-5 * max(1, abs(loss)))
            var worst: Float = 0
            for (a, b) in zip(gradients, split.gradients) {
                for (x, y) in zip(a, b) { worst = max(worst, abs(x - y) / max(1e-3, abs(x))) }
            }
            #expect(worst < 1e-3, "\(kind) in \(shares) shares: worst relative gradient difference \(worst)")
            // Dropout is on: with one process's masks for every share the gradients would differ.
            #expect(split.gradients.flatMap { $0 }.contains { $0 != 0 })
        }
    }

    @Test func masksDoNotDependOnHowTheBatchIsShared() {
        var whole = DropoutSource.training(SeededGenerator(seed: 4))
        let all = whole.mask(count: 6 * 10, probability: 0.3, streams: 6)!.values
        var parts: [Float] = []
        for first in stride(from: 0, to: 6, by: 2) {
            var share = DropoutSource.training(SeededGenerator(seed: 4), firstStream: first)
            parts += share.mask(count: 2 * 10, probability: 0.3, streams: 2)!.values
        }
        #expect(parts == all)
        #expect(all.contains(0) && all.contains { $0 != 0 })
        // And the generator moves on the same in every share: the next site's masks agree too.
        var a = DropoutSource.training(SeededGenerator(seed: 4))
        var b = DropoutSource.training(SeededGenerator(seed: 4), firstStream: 3)
        _ = a.mask(count: 8, probability: 0.5, streams: 4)
        _ = b.mask(count: 2, probability: 0.5, streams: 1)
        #expect(a.generator == b.generator)
    }

    @Test func aMemoryCutIntoSharesLaidEndToEndIsItself() throws {
        let layers = (0..<3).map { l in Tensor(shape: [4, 5, 2], values: (0..<40).map { Float($0 + 100 * l) }) }
        let memory = try #require(Memory(memoryLength: 8, layers: layers))
        let parts = [memory.streams(0..<1), memory.streams(1..<3), memory.streams(3..<4)]
        #expect(parts.map(\.batch) == [1, 2, 1])
        #expect(parts[1].layers[2].values == Array(memory.layers[2].values[10..<30]))
        // Laid end to end in stream order, as the trainer gathers them for a checkpoint, the
        // shares are the whole memory again.
        for l in memory.layers.indices {
            #expect(parts.flatMap { $0.layers[l].values } == memory.layers[l].values)
            #expect(parts.reduce(0) { $0 + $1.layers[l].shape[0] } == memory.layers[l].shape[0])
            #expect(parts.allSatisfy { $0.layers[l].shape.dropFirst() == memory.layers[l].shape.dropFirst() })
        }
    }

    @Test func aBatchThatDoesNotSplitEvenlyIsRefused() {
        #expect(ProcessGroup.single.share(of: 16) == 0..<16)
        #expect(
            DataParallelError.batchNotDivisible(batch: 6, processes: 4).description.contains("multiple of the 4"))
    }
}
