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
        let c = model.config
        try ModelInputError.check(tokens, targets: nil, batch: batch, vocabulary: c.vocabularySize)
        guard tokens.count == batch else { throw ModelInputError.raggedBatch(count: tokens.count, batch: batch) }
        let (B, HD) = (batch, c.heads * c.headSize)
        if start + length == rowsPerStream { slideToFront() }
        let slots = visibleSlots(start: start, length: length)
        let (caches, relative) = (caches, relative)
        pass(tokens, in: buffers) { l, qkv, attended, scores, heads in
            // The new row's key and value join each stream's cache, then its query attends over
            // the keys it may see (all M + 1, or the last mem_len with same_length).
            for s in 0..<B {
                let row = qkv + s * 3 * HD
                caches[s].append(
                    layer: l, key: row + HD, value: row + 2 * HD, thenAttend: row, slots: slots, relative: relative,
                    out: attended + s * HD, scores: scores, heads: heads)
            }
        }
        advance(by: 1)
        let logp = buffers.logProbabilities.pointer
        CrossEntropy.logSoftmax(out: logp, logits: logp, rows: B, classes: c.vocabularySize)
        return buffers.logProbabilities
    }

    /// Reads `tokens` after what one stream holds, as `step` would one after another, and returns
    /// the log-probabilities after each ([n, V], row i after tokens[i], valid until the next
    /// call): row i holds the bits `step` gives after reading tokens[i], and the memory ends where
    /// stepping leaves it. Each stretch up to the next slide of the buffers is one pass whose
    /// products multiply every token's vector at once (`DecoderMatrix.multiply(_:vectors:…)`),
    /// which an int8 or int4 decoder does at a fraction of a step's cost per token; each token
    /// attends over the memory it would see when stepped. One stream only.
    public func readEach(_ tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        let c = model.config, V = c.vocabularySize
        guard batch == 1 else {
            throw ModelInputError.memoryMismatch(expected: "one stream", found: "\(batch) streams")
        }
        try ModelInputError.check(tokens, targets: nil, batch: 1, vocabulary: V)
        let HD = c.heads * c.headSize
        if everyLogProbabilities.count < tokens.count * V { everyLogProbabilities = Tensor(zeros: [tokens.count, V]) }
        // Buffers for the longest stretch, which a pass of fewer rows uses the front of.
        let chunk = StepBuffers(
            batch: min(tokens.count, rowsPerStream), config: c, capacity: memoryLength, members: memberCount)
        var done = 0
        while done < tokens.count {
            if start + length == rowsPerStream { slideToFront() }
            // The tokens up to the next slide, their rows appended from `first` on; token i sees
            // the memory as stepping leaves it after tokens 0..<i.
            let count = min(tokens.count - done, rowsPerStream - (start + length)), first = start + length
            var slots: [Range<Int>] = []
            var (rowsStart, rowsHeld) = (start, length)
            for _ in 0..<count {
                slots.append(visibleSlots(start: rowsStart, length: rowsHeld))
                (rowsStart, rowsHeld) = advanced(start: rowsStart, length: rowsHeld, by: 1)
            }
            let (cache, relative) = (caches[0], relative)
            pass(Array(tokens[done..<done + count]), in: chunk) { l, qkv, attended, scores, heads in
                cache.store(
                    layer: l, positions: first..<first + count, keys: qkv + HD, values: qkv + 2 * HD, rowStride: 3 * HD,
                    heads: heads)
                for i in 0..<count {
                    cache.attend(
                        layer: l, query: qkv + i * 3 * HD, slots: slots[i], relative: relative,
                        out: attended + i * HD, scores: scores, heads: heads)
                }
            }
            advance(by: count)
            let out = everyLogProbabilities.pointer + done * V
            CrossEntropy.logSoftmax(out: out, logits: chunk.logProbabilities.pointer, rows: count, classes: V)
            done += count
        }
        return UnsafeBufferPointer(start: everyLogProbabilities.pointer, count: tokens.count * V)
    }

    /// `readEach`'s log-probabilities after every token read.
    private var everyLogProbabilities = Tensor(zeros: [1])

    /// The slots a query sees when the memory holds `length` rows from slot `start` and its own
    /// row is the next: all of them and itself, or the last mem_len with same_length.
    private func visibleSlots(start: Int, length: Int) -> Range<Int> {
        let c = model.config
        let visible = AttentionShape(
            batch: 1, queries: 1, memory: length, heads: c.heads, headSize: c.headSize,
            window: c.sameLength ? memoryLength : nil
        ).visibleKeys(0)
        return (start + visible.lowerBound)..<(start + visible.upperBound)
    }

    /// Where the memory's rows start and how many there are after `count` more tokens: each new row
    /// joins, and the oldest leave once there are more than mem_len.
    private func advanced(start: Int, length: Int, by count: Int) -> (start: Int, length: Int) {
        let held = length + count
        return held > memoryLength ? (start + held - memoryLength, memoryLength) : (start, held)
    }

    private func advance(by count: Int) { (start, length) = advanced(start: start, length: length, by: count) }

    /// Runs n = `tokens.count` rows (one token per stream in a step, one stream's tokens in a read)
    /// through the layers in the first n rows of `b`'s buffers, into `b.logProbabilities` (logits,
    /// [n, V]). `attend(l, qkv,
    /// attended, scores, heads)` puts layer l's new keys and values in the caches and writes the
    /// attention of every row's query for `heads` (one member's share) into `attended`.
    private func pass(
        _ tokens: [Int32], in b: StepBuffers,
        attend: (
            _ layer: Int, _ qkv: UnsafePointer<Float>, _ attended: UnsafeMutablePointer<Float>,
            _ scores: UnsafeMutablePointer<Float>, _ heads: Range<Int>
        ) -> Void
    ) {
        let c = model.config, p = model.parameters
        let (n, D, H, d, I, V) = (tokens.count, c.modelWidth, c.heads, c.headSize, c.innerWidth, c.vocabularySize)
        let HD = H * d
        let (h, qkv, attended, branch, inner) = (
            b.h.pointer, b.qkv.pointer, b.attended.pointer, b.branch.pointer, b.inner.pointer
        )
        tokens.withUnsafeBufferPointer {
            Embedding.forward(
                out: h, tokens: $0.baseAddress!, table: p.embedding.pointer, count: n, width: D,
                vocabulary: V, scale: Float(D).squareRoot())
        }
        // The threads run the whole pass together, each its share of every product and of the
        // heads, meeting where a piece reads what the others wrote. Each normalises for itself,
        // into its own rows of `memberNorm` and `memberH`, and reads those; it writes its share
        // of h too, which its share of the output projection then adds to.
        WorkerPool.shared.together(threads: min(Parallel.threadCount, memberCount)) { team in
            let (ownNorm, ownH) = (b.memberNorm.pointer + team.member * n * D, b.memberH.pointer + team.member * n * D)
            let heads = team.share(of: H), modelRows = team.share(of: D, granularity: 4)
            let headRows = heads.lowerBound * d..<heads.upperBound * d
            let innerRows = team.share(of: I, granularity: 4)
            let scores = b.probabilities.pointer
            /// This member's rows of `matrix` times each of the n vectors of `x` ([n, inputs]).
            func multiply(
                _ matrix: Unretained<DecoderMatrix>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?,
                _ y: UnsafeMutablePointer<Float>, _ epilogue: DecoderMatrix.Epilogue = .store,
                rows: ((DecoderMatrix) -> RowRanges)? = nil
            ) {
                matrix.with { m in
                    m.multiply(
                        x, vectors: n, inputStride: m.inputs, bias: bias, into: y, outputStride: m.outputs,
                        epilogue: epilogue, rowRanges: rows?(m) ?? RowRanges(team.share(of: m.outputs, granularity: 4)))
                }
            }
            /// `to[rows of each of the n rows] = from[the same]`.
            func copy(_ rows: Range<Int>, of width: Int, from: UnsafePointer<Float>, to: UnsafeMutablePointer<Float>) {
                for r in 0..<n {
                    (to + r * width + rows.lowerBound).update(
                        from: from + r * width + rows.lowerBound, count: rows.count)
                }
            }
            var input = UnsafePointer(h)  // the layer's input: the embeddings, then this member's own copy
            for (l, layer) in layers.enumerated() {
                // Each member projects the q, k and v rows of its own heads, all its attention
                // reads, so no barrier is needed before it attends.
                multiply(layer.qkv, input, nil, qkv, rows: { _ in RowRanges(headRows, repeated: 3, every: HD) })
                attend(l, UnsafePointer(qkv), attended, scores, heads)
                team.wait()
                // Post-norm (the reference's default): h = LN(h + attention), then LN(that + MLP).
                multiply(layer.output, attended, nil, h, .accumulate)
                team.wait()
                layer.attentionNorm.normalize(h, rows: n, width: D, epsilon: c.layerNormEpsilon, into: ownNorm)
                multiply(layer.feedForwardIn, ownNorm, layer.feedForwardInBias, inner)
                for r in 0..<n {
                    let rows = inner + r * I + innerRows.lowerBound
                    ReLU.forward(out: rows, input: rows, count: innerRows.count)
                }
                copy(modelRows, of: D, from: ownNorm, to: branch)
                team.wait()
                multiply(layer.feedForwardOut, inner, layer.feedForwardOutBias, branch, .accumulate)
                team.wait()
                layer.feedForwardNorm.normalize(branch, rows: n, width: D, epsilon: c.layerNormEpsilon, into: ownH)
                copy(modelRows, of: D, from: ownH, to: h)
                input = UnsafePointer(ownH)
            }
            multiply(Unretained(outputMatrix), input, outputBias, b.logProbabilities.pointer)
        }
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
