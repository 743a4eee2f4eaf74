import Tensor

/// Transformer-XL generation one token at a time (spec, "Generation"): each token is a T = 1
/// pass over M memory rows + itself.
///
/// Unlike the reference, which re-projects the whole memory through `qkv_net` at every step,
/// this keeps each layer's memory as already projected keys and values, so a step projects
/// only the new row; the position vectors `r_net(sinusoid(p))` are projected once for every
/// distance the memory can reach. Keys and values live in a buffer twice the memory length:
/// rows are appended at the end and slid back to the front only when it is full (amortised
/// O(1) per token). Everything a step reads is in `precision` (float32, float16, or int8 weights with a float16
/// cache), laid out
/// for one query, as in `GPT2Decoder`: the weights as `DecoderMatrix` rows, the keys, values
/// and position vectors in `DecoderCache`s (keys and positions transposed per head). At
/// memory 2048 those caches are most of what a step reads.
public final class TransformerXLDecoder {
    /// The model being run.
    public let model: TransformerXL
    /// Streams decoded side by side.
    public let batch: Int
    /// mem_len: rows of memory kept per layer.
    public let memoryLength: Int
    /// Memory rows currently held per layer (M).
    public var rowsHeld: Int { length }
    /// How the decoder's copy of the weights is stored.
    public let precision: DecoderMatrix.Precision

    /// Per layer: qkv_net [3HD, D], o_net [D, HD], CoreNet.0 [I, D], CoreNet.3 [D, I].
    private struct LayerMatrices {
        var qkv, output, feedForwardIn, feedForwardOut: DecoderMatrix
    }
    private let matrices: [LayerMatrices]
    /// The tied output layer: the embedding [V, D].
    private let outputMatrix: DecoderMatrix

    /// Per stream: keys and values of 2 * (memoryLength + 1) slots per layer.
    private let caches: [DecoderCache]
    /// The relative-position terms: per layer, the projected sinusoids by distance (slot p =
    /// distance p, a keys-only cache), and u, v.
    private let relative: DecoderCache.Relative
    private var start = 0, length = 0
    private var rowsPerStream: Int { 2 * (memoryLength + 1) }

    /// A decoder continuing from `memory` (for example the memory after reading a primer with
    /// `TransformerXL.forward`); its rows are projected to keys and values once, here. Steps
    /// read the weights in `precision` (float32: the model's own numbers).
    public init(model: TransformerXL, memory: Memory, precision: DecoderMatrix.Precision = .float32) throws {
        let c = model.config
        guard memory.layers.count == c.layers, memory.width == c.modelWidth, memory.batch > 0 else {
            throw ModelInputError.memoryMismatch(
                expected: "\(c.layers) layers of width \(c.modelWidth)",
                found: "\(memory.layers.count) layers of width \(memory.width)")
        }
        self.model = model
        self.precision = precision
        self.batch = memory.batch
        func matrix(_ w: Tensor) -> DecoderMatrix {  // PyTorch layout [out, in]
            DecoderMatrix(w.pointer, outputs: w.shape[0], inputs: w.shape[1], transposed: false, precision: precision)
        }
        matrices = model.parameters.layers.map { p in
            LayerMatrices(
                qkv: matrix(p.qkv), output: matrix(p.output),
                feedForwardIn: matrix(p.feedForwardIn), feedForwardOut: matrix(p.feedForwardOut))
        }
        outputMatrix = matrix(model.parameters.embedding)
        buffers = StepBuffers(batch: memory.batch, config: c, capacity: memory.memoryLength)
        self.memoryLength = memory.memoryLength
        let (B, HD, D, M) = (memory.batch, c.heads * c.headSize, c.modelWidth, memory.rowsHeld)
        let rows = 2 * (memory.memoryLength + 1)
        caches = (0..<B).map { _ in
            DecoderCache(layers: c.layers, heads: c.heads, headSize: c.headSize, capacity: rows, precision: precision)
        }
        let positions = DecoderCache(
            layers: c.layers, heads: c.heads, headSize: c.headSize,
            capacity: memory.memoryLength + 1, precision: precision, keysOnly: true)
        let pe = model.sinusoids(count: memory.memoryLength + 1)
        let r = Tensor(zeros: [memory.memoryLength + 1, HD])
        for (l, p) in model.parameters.layers.enumerated() {
            Linear.forward(
                out: r.pointer, input: pe.pointer, weight: p.positionProjection.pointer, bias: nil,
                rows: memory.memoryLength + 1, inFeatures: D, outFeatures: HD)
            for distance in 0...memory.memoryLength {
                positions.store(layer: l, position: distance, key: r.pointer + distance * HD, value: nil)
            }
        }
        relative = DecoderCache.Relative(
            positions: positions, contentBias: model.parameters.contentBias.pointer,
            positionBias: model.parameters.positionBias.pointer)
        length = M
        // Keys and values of the memory rows: the k and v thirds of qkv_net ([3HD, D] rows HD..<3HD).
        let kv = Tensor(zeros: [max(1, B * M), 2 * HD])
        for (l, p) in model.parameters.layers.enumerated() where M > 0 {
            Linear.forward(
                out: kv.pointer, input: memory.layers[l].pointer, weight: p.qkv.pointer + HD * D, bias: nil,
                rows: B * M, inFeatures: D, outFeatures: 2 * HD)
            for b in 0..<B {
                for t in 0..<M {
                    let row = kv.pointer + (b * M + t) * 2 * HD
                    caches[b].store(layer: l, position: t, key: row, value: row + HD)
                }
            }
        }
    }

    /// Reads one token per stream and returns the log-probabilities of the next, [B, V] (the
    /// decoder's own buffer: overwritten by the next step).
    public func step(tokens: [Int32]) throws -> Tensor {
        let c = model.config, p = model.parameters
        try ModelInputError.check(tokens, targets: nil, batch: batch, vocabulary: c.vocabularySize)
        guard tokens.count == batch else { throw ModelInputError.raggedBatch(count: tokens.count, batch: batch) }
        let (B, D, H, d, I, V) = (batch, c.modelWidth, c.heads, c.headSize, c.innerWidth, c.vocabularySize)
        let (HD, rows) = (H * d, rowsPerStream)
        if start + length == rows { slideToFront() }
        let M = length
        let shape = AttentionShape(
            batch: B, queries: 1, memory: M, heads: H, headSize: d,
            window: c.sameLength ? memoryLength : nil)
        let b = buffers
        let (h, qkv, attended, branch, norm, inner) = (
            b.h.pointer, b.qkv.pointer, b.attended.pointer,
            b.branch.pointer, b.norm.pointer, b.inner.pointer
        )
        tokens.withUnsafeBufferPointer {
            Embedding.forward(
                out: h, tokens: $0.baseAddress!, table: p.embedding.pointer, count: B, width: D,
                vocabulary: V, scale: Float(D).squareRoot())
        }
        /// One matrix-vector product per stream.
        func multiply(
            _ m: DecoderMatrix, _ x: UnsafeMutablePointer<Float>, _ bias: Tensor?, _ y: UnsafeMutablePointer<Float>,
            _ epilogue: DecoderMatrix.Epilogue = .store
        ) {
            for s in 0..<B {
                m.multiply(x + s * m.inputs, bias: bias?.pointer, into: y + s * m.outputs, epilogue: epilogue)
            }
        }
        for (l, layer) in p.layers.enumerated() {
            let w = matrices[l]
            multiply(w.qkv, h, nil, qkv)
            // The new row's key and value join the cache, then the query attends over the keys
            // it may see (all M + 1, or the last mem_len with same_length).
            let visible = shape.visibleKeys(0)
            for s in 0..<B {
                let row = qkv + s * 3 * HD
                caches[s].append(
                    layer: l, key: row + HD, value: row + 2 * HD, thenAttend: row,
                    slots: (start + visible.lowerBound)..<(start + visible.upperBound),
                    relative: relative,
                    out: attended + s * HD, scores: b.probabilities.pointer)
            }
            // Post-norm (the reference's default): h = LN(h + attention), then LN(that + MLP).
            multiply(w.output, attended, nil, h, .accumulate)
            LayerNorm.forward(
                out: norm, mean: b.mean.pointer, rstd: b.rstd.pointer, input: h,
                weight: layer.attentionNorm.weight.pointer, bias: layer.attentionNorm.bias.pointer,
                rows: B, width: D, eps: c.layerNormEpsilon)
            multiply(w.feedForwardIn, norm, layer.feedForwardInBias, inner)
            ReLU.forward(out: inner, input: inner, count: B * I)
            branch.update(from: norm, count: B * D)
            multiply(w.feedForwardOut, inner, layer.feedForwardOutBias, branch, .accumulate)
            LayerNorm.forward(
                out: h, mean: b.mean.pointer, rstd: b.rstd.pointer, input: branch,
                weight: layer.feedForwardNorm.weight.pointer, bias: layer.feedForwardNorm.bias.pointer,
                rows: B, width: D, eps: c.layerNormEpsilon)
        }
        // The new row joins the memory; the oldest leaves once there are more than mem_len.
        length += 1
        if length > memoryLength {
            start += length - memoryLength
            length = memoryLength
        }
        let logp = b.logProbabilities.pointer
        multiply(outputMatrix, h, p.outputBias, logp)
        CrossEntropy.logSoftmax(out: logp, logits: logp, rows: B, classes: V)
        return b.logProbabilities
    }

    /// The buffers a step writes, allocated once: a step allocates no tensor.
    private struct StepBuffers {
        var h, qkv, attended, branch, norm, inner, probabilities, mean, rstd, logProbabilities: Tensor

        init(batch B: Int, config c: ModelConfig, capacity: Int) {
            let (D, HD) = (c.modelWidth, c.heads * c.headSize)
            h = Tensor(zeros: [B, D]); qkv = Tensor(zeros: [B, 3 * HD]); attended = Tensor(zeros: [B, HD])
            branch = Tensor(zeros: [B, D]); norm = Tensor(zeros: [B, D]); inner = Tensor(zeros: [B, c.innerWidth])
            probabilities = Tensor(zeros: [c.heads * ((2 * (capacity + 1) + 15) / 16 * 16)])
            mean = Tensor(zeros: [B]); rstd = Tensor(zeros: [B])
            logProbabilities = Tensor(zeros: [B, c.vocabularySize])
        }
    }
    private let buffers: StepBuffers

    /// Moves the live rows to the front of every stream's buffers.
    private func slideToFront() {
        for cache in caches { cache.moveToFront(from: start, count: length) }
        start = 0
    }
}
