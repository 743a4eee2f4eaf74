import Tensor

/// Transformer-XL generation one token at a time (spec, "Generation"): each token is a T = 1
/// pass over M memory rows + itself.
///
/// Unlike the reference, which re-projects the whole memory through `qkv_net` at every step,
/// this keeps each layer's memory as already projected keys and values, so a step projects
/// only the new row; the position vectors `r_net(sinusoid(p))` are projected once for every
/// distance the memory can reach. Keys and values live in a buffer twice the memory length:
/// rows are appended at the end and slid back to the front only when it is full (amortised
/// O(1) per token).
public final class TransformerXLDecoder {
    /// The model being run.
    public let model: TransformerXL
    /// Streams decoded side by side.
    public let batch: Int
    /// mem_len: rows of memory kept per layer.
    public let capacity: Int
    /// Memory rows currently held per layer (M).
    public var memoryLength: Int { length }

    /// [B, 2 * (capacity + 1), H * d] per layer.
    private let keys: [Tensor], values: [Tensor]
    /// [capacity + 1, H * d] per layer: projected sinusoids, row p = distance p.
    private let positions: [Tensor]
    private var start = 0, length = 0
    private var rowsPerStream: Int { 2 * (capacity + 1) }

    /// A decoder continuing from `memory` (for example the memory after reading a primer with
    /// `TransformerXL.forward`); its rows are projected to keys and values once, here.
    public init(model: TransformerXL, memory: Memory) throws {
        let c = model.config
        guard memory.layers.count == c.layers, memory.width == c.modelWidth, memory.batch > 0 else {
            throw ModelInputError.memoryMismatch(expected: "\(c.layers) layers of width \(c.modelWidth)",
                                                 found: "\(memory.layers.count) layers of width \(memory.width)")
        }
        self.model = model
        self.batch = memory.batch
        self.capacity = memory.capacity
        let (B, HD, D, M) = (memory.batch, c.heads * c.headSize, c.modelWidth, memory.length)
        let rows = 2 * (memory.capacity + 1)
        keys = (0..<c.layers).map { _ in Tensor(zeros: [B, rows, HD]) }
        values = (0..<c.layers).map { _ in Tensor(zeros: [B, rows, HD]) }
        let pe = model.sinusoids(count: memory.capacity + 1)
        positions = model.parameters.layers.map { p in
            let r = Tensor(zeros: [memory.capacity + 1, HD])
            Linear.forward(out: r.pointer, input: pe.pointer, weight: p.positionProjection.pointer, bias: nil,
                           rows: memory.capacity + 1, inFeatures: D, outFeatures: HD)
            return r
        }
        length = M
        // Keys and values of the memory rows: the k and v thirds of qkv_net ([3HD, D] rows HD..<3HD).
        let kv = Tensor(zeros: [max(1, B * M), 2 * HD])
        for (l, p) in model.parameters.layers.enumerated() where M > 0 {
            Linear.forward(out: kv.pointer, input: memory.layers[l].pointer, weight: p.qkv.pointer + HD * D, bias: nil,
                           rows: B * M, inFeatures: D, outFeatures: 2 * HD)
            for b in 0..<B {
                for t in 0..<M {
                    let source = kv.pointer + (b * M + t) * 2 * HD, slot = (b * rows + t) * HD
                    (keys[l].pointer + slot).update(from: source, count: HD)
                    (values[l].pointer + slot).update(from: source + HD, count: HD)
                }
            }
        }
    }

    /// Reads one token per stream and returns the log-probabilities of the next, [B, V].
    public func step(tokens: [Int32]) throws -> Tensor {
        let c = model.config, p = model.parameters
        try ModelInputError.check(tokens, targets: nil, batch: batch, vocabulary: c.vocabularySize)
        guard tokens.count == batch else { throw ModelInputError.raggedBatch(count: tokens.count, batch: batch) }
        let (B, D, H, d, I) = (batch, c.modelWidth, c.heads, c.headSize, c.innerWidth)
        let (HD, rows) = (H * d, rowsPerStream)
        if start + length == rows { slideToFront() }
        let M = length
        let shape = AttentionShape(batch: B, queries: 1, memory: M, heads: H, headSize: d,
                                   window: c.sameLength ? capacity : nil)

        var h = Tensor(zeros: [B, D])
        tokens.withUnsafeBufferPointer {
            Embedding.forward(out: h.pointer, tokens: $0.baseAddress!, table: p.embedding.pointer, count: B, width: D,
                              vocabulary: c.vocabularySize, scale: Float(D).squareRoot())
        }
        let qkv = Tensor(zeros: [B, 3 * HD]), attended = Tensor(zeros: [B, HD]), probabilities = Tensor(zeros: [B, H, M + 1])
        let branch = Tensor(zeros: [B, D]), mean = Tensor(zeros: [B]), rstd = Tensor(zeros: [B])
        let norm = Tensor(zeros: [B, D]), inner = Tensor(zeros: [B, I])
        for (l, layer) in p.layers.enumerated() {
            Linear.forward(out: qkv.pointer, input: h.pointer, weight: layer.qkv.pointer, bias: nil,
                           rows: B, inFeatures: D, outFeatures: 3 * HD)
            for b in 0..<B {
                let slot = (b * rows + start + M) * HD
                (keys[l].pointer + slot).update(from: qkv.pointer + b * 3 * HD + HD, count: HD)
                (values[l].pointer + slot).update(from: qkv.pointer + b * 3 * HD + 2 * HD, count: HD)
            }
            Attention.forward(
                out: attended.pointer, probabilities: probabilities.pointer,
                q: HeadRows(base: qkv.pointer, rowStride: 3 * HD, batchStride: 3 * HD),
                k: HeadRows(base: keys[l].pointer + start * HD, rowStride: HD, batchStride: rows * HD),
                v: HeadRows(base: values[l].pointer + start * HD, rowStride: HD, batchStride: rows * HD),
                relative: RelativeTerms(r: positions[l].pointer, u: p.contentBias.pointer, v: p.positionBias.pointer),
                dropMask: nil, shape: shape)
            Linear.forward(out: branch.pointer, input: attended.pointer, weight: layer.output.pointer, bias: nil,
                           rows: B, inFeatures: HD, outFeatures: D)
            Residual.forward(out: branch.pointer, a: branch.pointer, b: h.pointer, count: B * D)
            LayerNorm.forward(out: norm.pointer, mean: mean.pointer, rstd: rstd.pointer, input: branch.pointer,
                              weight: layer.attentionNorm.weight.pointer, bias: layer.attentionNorm.bias.pointer,
                              rows: B, width: D, eps: c.layerNormEpsilon)
            Linear.forward(out: inner.pointer, input: norm.pointer, weight: layer.feedForwardIn.pointer,
                           bias: layer.feedForwardInBias.pointer, rows: B, inFeatures: D, outFeatures: I)
            ReLU.forward(out: inner.pointer, input: inner.pointer, count: inner.count)
            Linear.forward(out: branch.pointer, input: inner.pointer, weight: layer.feedForwardOut.pointer,
                           bias: layer.feedForwardOutBias.pointer, rows: B, inFeatures: I, outFeatures: D)
            Residual.forward(out: branch.pointer, a: branch.pointer, b: norm.pointer, count: B * D)
            let next = Tensor(zeros: [B, D])
            LayerNorm.forward(out: next.pointer, mean: mean.pointer, rstd: rstd.pointer, input: branch.pointer,
                              weight: layer.feedForwardNorm.weight.pointer, bias: layer.feedForwardNorm.bias.pointer,
                              rows: B, width: D, eps: c.layerNormEpsilon)
            h = next
        }
        // The new row joins the memory; the oldest leaves once there are more than mem_len.
        length += 1
        if length > capacity {
            start += length - capacity
            length = capacity
        }
        return TiedOutput.forward(hidden: h, embedding: p.embedding, bias: p.outputBias, targets: nil,
                                  rows: B, width: D, vocabulary: c.vocabularySize, shape: [B, c.vocabularySize]).logProbabilities
    }

    /// Moves the live rows to the front of every layer's buffers.
    private func slideToFront() {
        let HD = model.config.heads * model.config.headSize, rows = rowsPerStream
        for buffer in keys + values {
            for b in 0..<batch {
                let base = buffer.pointer + b * rows * HD
                (base).update(from: base + start * HD, count: length * HD)
            }
        }
        start = 0
    }
}
