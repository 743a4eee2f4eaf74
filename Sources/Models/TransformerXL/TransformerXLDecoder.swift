import Tensor

/// Transformer-XL generation one token at a time (spec, "Generation"): each token is a T = 1
/// pass over M memory rows + itself.
///
/// Unlike the reference, which re-projects the whole memory through `qkv_net` at every step,
/// this keeps each layer's memory as already projected keys and values, so a step projects
/// only the new row; the position vectors `r_net(sinusoid(p))` are projected once for every
/// distance the memory can reach. Keys and values live in a buffer twice the memory length:
/// rows are appended at the end and slid back to the front only when it is full (amortised
/// O(1) per token). Everything a step reads is in `precision` (float32, float16, or int8 or
/// int4 weights with a float16 cache), laid out for one query, as in `GPT2Decoder`: the weights
/// as `DecoderMatrix` rows, the keys, values and position vectors in `DecoderCache`s (keys and
/// positions transposed per head). At memory 2048 those caches are most of what a step reads.
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

    /// Per layer, what a step reads: qkv_net [3HD, D], o_net [D, HD], CoreNet.0 [I, D] and
    /// CoreNet.3 [D, I] as rows, the feed-forward biases and the LayerNorm parameters. Unretained
    /// references and raw pointers (`retained` keeps their objects alive): every thread of a
    /// step reads them, and counting references would have each thread write the same cache
    /// lines at every use.
    private struct Layer {
        let qkv, output, feedForwardIn, feedForwardOut: Unretained<DecoderMatrix>
        let feedForwardInBias, feedForwardOutBias: UnsafePointer<Float>
        let attentionNorm, feedForwardNorm: LayerNormPointers
    }
    private let layers: [Layer]
    /// The tied output layer: the embedding [V, D], and the output bias.
    private let outputMatrix: DecoderMatrix, outputBias: UnsafePointer<Float>
    /// The objects `layers` and `outputBias` point into: the decoder reads the model's biases
    /// and norms as they were when it was made, as it does its own copy of the weights.
    private let retained: [AnyObject]

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
        var retained: [AnyObject] = [model.parameters.outputBias]
        layers = model.parameters.layers.map { p in
            let matrices = [p.qkv, p.output, p.feedForwardIn, p.feedForwardOut].map(matrix)
            retained += matrices + [p.feedForwardInBias, p.feedForwardOutBias]
            retained += LayerNormPointers.tensors(p.attentionNorm) + LayerNormPointers.tensors(p.feedForwardNorm)
            return Layer(
                qkv: Unretained(matrices[0]), output: Unretained(matrices[1]),
                feedForwardIn: Unretained(matrices[2]), feedForwardOut: Unretained(matrices[3]),
                feedForwardInBias: p.feedForwardInBias.pointer, feedForwardOutBias: p.feedForwardOutBias.pointer,
                attentionNorm: LayerNormPointers(p.attentionNorm), feedForwardNorm: LayerNormPointers(p.feedForwardNorm)
            )
        }
        self.retained = retained
        outputMatrix = matrix(model.parameters.embedding)
        outputBias = UnsafePointer(model.parameters.outputBias.pointer)
        buffers = StepBuffers(batch: memory.batch, config: c, capacity: memory.memoryLength, members: memberCount)
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
            positions.store(
                layer: l, positions: 0..<memory.memoryLength + 1, keys: r.pointer, values: nil, rowStride: HD)
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
                let rows = kv.pointer + b * M * 2 * HD
                caches[b].store(layer: l, positions: 0..<M, keys: rows, values: rows + HD, rowStride: 2 * HD)
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
        let (h, qkv, attended, branch, inner) = (
            b.h.pointer, b.qkv.pointer, b.attended.pointer, b.branch.pointer, b.inner.pointer
        )
        tokens.withUnsafeBufferPointer {
            Embedding.forward(
                out: h, tokens: $0.baseAddress!, table: p.embedding.pointer, count: B, width: D,
                vocabulary: V, scale: Float(D).squareRoot())
        }
        let visible = shape.visibleKeys(0)
        // The threads run the whole step together, each its share of every product and of the
        // heads, meeting where a piece reads what the others wrote. Each normalises for itself,
        // into its own rows of `memberNorm` and `memberH`, and reads those; it writes its share
        // of h too, which its share of the output projection then adds to.
        WorkerPool.shared.together(threads: min(Parallel.threadCount, memberCount)) { team in
            let (ownNorm, ownH) = (b.memberNorm.pointer + team.member * B * D, b.memberH.pointer + team.member * B * D)
            let heads = team.share(of: H), modelRows = team.share(of: D, granularity: 4)
            let headRows = heads.lowerBound * d..<heads.upperBound * d
            let innerRows = team.share(of: I, granularity: 4)
            let (caches, relative, scores) = (caches, relative, b.probabilities.pointer)
            /// This member's rows of one matrix-vector product per stream.
            func multiply(
                _ matrix: Unretained<DecoderMatrix>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                _ y: UnsafeMutablePointer<Float>, _ epilogue: DecoderMatrix.Epilogue = .store
            ) {
                matrix.with { m in
                    let rows = team.share(of: m.outputs, granularity: 4)
                    for s in 0..<B {
                        m.multiply(
                            x + s * m.inputs, bias: bias, into: y + s * m.outputs, epilogue: epilogue, rows: rows)
                    }
                }
            }
            /// `to[rows of each stream] = from[the same]`.
            func copy(_ rows: Range<Int>, of width: Int, from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>) {
                for s in 0..<B {
                    (to + s * width + rows.lowerBound).update(
                        from: from + s * width + rows.lowerBound, count: rows.count)
                }
            }
            var input = UnsafePointer(h)  // the layer's input: the embeddings, then this member's own copy
            for (l, layer) in layers.enumerated() {
                // Each member projects the q, k and v rows of its own heads, all its attention
                // reads, so no barrier is needed before it attends.
                for s in 0..<B {
                    layer.qkv.with {
                        $0.multiply(
                            input + s * D, bias: nil, into: qkv + s * 3 * HD,
                            rowRanges: RowRanges(headRows, repeated: 3, every: HD))
                    }
                }
                // The new row's key and value join the cache, then the query attends over the keys
                // it may see (all M + 1, or the last mem_len with same_length).
                for s in 0..<B {
                    let row = qkv + s * 3 * HD
                    caches[s].append(
                        layer: l, key: row + HD, value: row + 2 * HD, thenAttend: row,
                        slots: (start + visible.lowerBound)..<(start + visible.upperBound),
                        relative: relative, out: attended + s * HD, scores: scores, heads: heads)
                }
                team.wait()
                // Post-norm (the reference's default): h = LN(h + attention), then LN(that + MLP).
                multiply(layer.output, attended, nil, h, .accumulate)
                team.wait()
                layer.attentionNorm.normalize(h, rows: B, width: D, epsilon: c.layerNormEpsilon, into: ownNorm)
                multiply(layer.feedForwardIn, ownNorm, layer.feedForwardInBias, inner)
                for s in 0..<B {
                    let rows = inner + s * I + innerRows.lowerBound
                    ReLU.forward(out: rows, input: rows, count: innerRows.count)
                }
                copy(modelRows, of: D, from: ownNorm, to: branch)
                team.wait()
                multiply(layer.feedForwardOut, inner, layer.feedForwardOutBias, branch, .accumulate)
                team.wait()
                layer.feedForwardNorm.normalize(branch, rows: B, width: D, epsilon: c.layerNormEpsilon, into: ownH)
                copy(modelRows, of: D, from: ownH, to: h)
                input = UnsafePointer(ownH)
            }
            multiply(Unretained(outputMatrix), input, outputBias, b.logProbabilities.pointer)
        }
        // The new row joins the memory; the oldest leaves once there are more than mem_len.
        length += 1
        if length > memoryLength {
            start += length - memoryLength
            length = memoryLength
        }
        let logp = b.logProbabilities.pointer
        CrossEntropy.logSoftmax(out: logp, logits: logp, rows: B, classes: V)
        return b.logProbabilities
    }

    /// The buffers a step writes, allocated once: a step allocates no tensor. `memberNorm` and
    /// `memberH` hold one [B, D] block per thread of the step.
    private struct StepBuffers {
        var h, qkv, attended, branch, inner, probabilities, logProbabilities, memberNorm, memberH: Tensor

        init(batch B: Int, config c: ModelConfig, capacity: Int, members: Int) {
            let (D, HD) = (c.modelWidth, c.heads * c.headSize)
            h = Tensor(zeros: [B, D]); qkv = Tensor(zeros: [B, 3 * HD]); attended = Tensor(zeros: [B, HD])
            branch = Tensor(zeros: [B, D]); inner = Tensor(zeros: [B, c.innerWidth])
            probabilities = Tensor(zeros: [c.heads * ((2 * (capacity + 1) + 15) / 16 * 16)])
            logProbabilities = Tensor(zeros: [B, c.vocabularySize])
            memberNorm = Tensor(zeros: [members, B, D]); memberH = Tensor(zeros: [members, B, D])
        }
    }
    /// The most threads a step runs on.
    private let memberCount = WorkerPool.shared.helperCount + 1
    private let buffers: StepBuffers

    /// Moves the live rows to the front of every stream's buffers.
    private func slideToFront() {
        for cache in caches { cache.moveToFront(from: start, count: length) }
        start = 0
    }
}
