import Tensor

/// GPT-2 generation one token at a time with its KV cache: `read` takes a context in one
/// batched pass, then each `step` is a T = 1 pass that appends one row of keys and values per
/// layer and attends over the cache. An int8 or int4 decoder's read is its step for many tokens
/// at once (the same bits as stepping them); a float one reads through
/// `GPT2.forward(tokens:batch:cache:)`.
///
/// A step is six layers of matrix-vector products (each of the model's weights read once), so
/// its speed is how fast the weights stream from cache. Three things make that fast here:
/// - the decoder keeps its own copy of every weight matrix as a `DecoderMatrix`, transposed to
///   [out, in], so each output is a dot product along a contiguous row (Hugging Face's
///   [in, out] `Conv1D` layout makes each output a sum of scaled rows instead, which runs
///   slower: docs/benchmarks.md, section Tensor GEMM, [1x256]x[256x768] with and without ᵀ);
/// - that copy may be float16, int8 or int4 (`precision`), a half, a quarter or an eighth of
///   the bytes to stream per token, and the integer products do more multiply-adds per
///   instruction than float16's (docs/tensor-kernels.md);
/// - every buffer a step writes is allocated once, here, so a step allocates nothing;
/// - the threads run a step together (`WorkerPool.together`), each its share of every product
///   and of the heads, meeting at barriers rather than taking a pool job per product.
/// The copy costs memory: the weights' size again in float32, a half in float16, a quarter in
/// int8, an eighth in int4.
public final class GPT2Decoder {
    /// The model being run.
    public let model: GPT2
    /// The keys and values read so far (one stream), as float32 rows for the model's batched
    /// forward: a float decoder's reads go through it; an integer decoder reads with its own
    /// products and keeps only the cache's length (its keys and values are in `stepCache`).
    public let cache: GPT2Cache

    /// How the decoder's copy of the weights is stored.
    public let precision: DecoderMatrix.Precision

    /// Per layer, what a step reads: the four weight matrices as [out, in] rows, the biases and
    /// LayerNorm parameters, and the float32 cache rows. Unretained references and raw pointers
    /// (`retained` keeps their objects alive): every thread of a step reads them, and counting
    /// references would have each thread write the same cache lines at every use.
    private struct Layer {
        let qkv, output, feedForwardIn, feedForwardOut: Unretained<DecoderMatrix>
        let qkvBias, outputBias, feedForwardInBias, feedForwardOutBias: UnsafePointer<Float>
        let attentionNorm, feedForwardNorm: LayerNormPointers
        let keys, values: UnsafeMutablePointer<Float>
    }
    private let layers: [Layer]
    /// The tied output layer: the token embedding [V, D].
    private let outputMatrix: DecoderMatrix
    /// The final LayerNorm's parameters.
    private let finalNorm: LayerNormPointers
    /// The objects `layers` and `finalNorm` point into: the decoder reads the model's biases and
    /// norms as they were when it was made, as it does its own copy of the weights.
    private let retained: [AnyObject]
    /// The cached keys and values again, laid out for one query at a time and in `precision`
    /// (`cache`'s own float32 rows serve batched reads).
    private let stepCache: DecoderCache
    /// What a pass over n tokens writes: the residual stream [n, D], its LayerNorm (n rows per
    /// member of the pass, each normalising for itself), q|k|v [n, 3D], the heads [n, D] and
    /// the MLP hidden [n, I]. A step's (n = 1) are allocated once, here; a read's per read.
    private struct Buffers {
        let x: Tensor, norm: Tensor, qkv: Tensor, attended: Tensor, hidden: Tensor

        init(tokens n: Int, members: Int, config c: ModelConfig) {
            let (D, I) = (c.modelWidth, c.innerWidth)
            x = Tensor(zeros: [n, D]); norm = Tensor(zeros: [members, n, D]); qkv = Tensor(zeros: [n, 3 * D])
            attended = Tensor(zeros: [n, D]); hidden = Tensor(zeros: [n, I])
        }
    }
    private let stepBuffers: Buffers
    /// The attention probabilities (scratch) and the log-probabilities returned.
    private let probabilities: Tensor, logProbabilities: Tensor
    /// `readEach`'s log-probabilities after every token read ([n, V], made per call).
    private var everyLogProbabilities = Tensor(zeros: [1])
    /// The model's width and LayerNorm epsilon.
    private let width: Int, epsilon: Float
    /// The most threads a step runs on: one per row of `norm`.
    private let memberCount = WorkerPool.shared.helperCount + 1

    /// A decoder for one stream, with an empty cache, stepping with weights in `precision`
    /// (float32: the model's own numbers; float16, int8 and int4: faster, weights rounded).
    public init(model: GPT2, precision: DecoderMatrix.Precision = .float32) {
        let c = model.config
        let (D, V) = (c.modelWidth, c.vocabularySize)
        self.model = model
        self.precision = precision
        (width, epsilon) = (D, c.layerNormEpsilon)
        let cache = model.makeCache(batch: 1)
        self.cache = cache
        func conv1D(_ w: Tensor) -> DecoderMatrix {  // stored [in, out]
            DecoderMatrix(w.pointer, outputs: w.shape[1], inputs: w.shape[0], transposed: true, precision: precision)
        }
        var retained: [AnyObject] = [cache]
        layers = zip(model.parameters.layers, cache.keys.indices).map { p, l in
            let matrices = [p.qkv, p.output, p.feedForwardIn, p.feedForwardOut].map(conv1D)
            retained += matrices
            retained += [p.qkvBias, p.outputBias, p.feedForwardInBias, p.feedForwardOutBias]
            retained += LayerNormPointers.tensors(p.attentionNorm) + LayerNormPointers.tensors(p.feedForwardNorm)
            return Layer(
                qkv: Unretained(matrices[0]), output: Unretained(matrices[1]),
                feedForwardIn: Unretained(matrices[2]), feedForwardOut: Unretained(matrices[3]),
                qkvBias: p.qkvBias.pointer, outputBias: p.outputBias.pointer,
                feedForwardInBias: p.feedForwardInBias.pointer, feedForwardOutBias: p.feedForwardOutBias.pointer,
                attentionNorm: LayerNormPointers(p.attentionNorm),
                feedForwardNorm: LayerNormPointers(p.feedForwardNorm),
                keys: cache.keys[l].pointer, values: cache.values[l].pointer)
        }
        finalNorm = LayerNormPointers(model.parameters.finalNorm)
        self.retained = retained + LayerNormPointers.tensors(model.parameters.finalNorm)
        outputMatrix = DecoderMatrix(
            model.parameters.tokenEmbedding.pointer, outputs: V, inputs: D,
            transposed: false, precision: precision)
        stepBuffers = Buffers(tokens: 1, members: memberCount, config: c)
        stepCache = DecoderCache(
            layers: c.layers, heads: c.heads, headSize: c.headSize, capacity: c.positions,
            precision: precision)
        probabilities = Tensor(zeros: [stepCache.queriesScratchCount])
        logProbabilities = Tensor(zeros: [1, V])
    }

    /// Positions read so far.
    public var length: Int { cache.length }

    /// Forgets everything read.
    public func reset() { cache.reset() }

    /// Reads `tokens` after what the cache holds, in one batched pass, and returns the
    /// log-probabilities of the token after the last one ([V], valid until the next call).
    /// An int8 or int4 decoder reads with its own products, many tokens to each (the same numbers as
    /// stepping the tokens one at a time, at a fraction of the cost); float32 and float16 ones
    /// through the model's batched forward (`GPT2.forward(tokens:batch:cache:)`), whose float
    /// products are faster than theirs for many rows.
    public func read(_ tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        if tokens.count == 1 { return try step(tokens[0]) }
        if precision.isInteger {
            try check(tokens)
            return decode(tokens, in: Buffers(tokens: tokens.count, members: memberCount, config: model.config))
        }
        let start = cache.length
        let all = try model.forward(tokens: tokens, batch: 1, cache: cache)
        let (D, positions) = (model.config.modelWidth, start..<cache.length)
        Parallel.forEachIndex(model.config.layers) { l in
            stepCache.store(
                layer: l, positions: positions, keys: cache.keys[l].pointer + start * D,
                values: cache.values[l].pointer + start * D, rowStride: D)
        }
        let V = model.config.vocabularySize
        logProbabilities.pointer.update(from: all.pointer + (tokens.count - 1) * V, count: V)
        return UnsafeBufferPointer(start: logProbabilities.pointer, count: V)
    }

    /// Reads one token and returns the log-probabilities of the next ([V], valid until the
    /// next call). Equals `GPT2.forward(tokens:batch:cache:)` on the same token to rounding.
    public func step(_ token: Int32) throws -> UnsafeBufferPointer<Float> {
        try check([token])
        return decode([token], in: stepBuffers)
    }

    /// Reads `tokens` after what the cache holds, as `read` does, and returns the log-probabilities
    /// after each of them ([n, V], row i after tokens[i], valid until the next call): row i holds
    /// the bits `step` would give after reading tokens[i]. Integer decoders only, whose read is
    /// their step for many tokens at once; nil for a float one (its batched read rounds otherwise).
    public func readEach(_ tokens: [Int32]) throws -> UnsafeBufferPointer<Float>? {
        guard precision.isInteger, !tokens.isEmpty else { return nil }
        if tokens.count == 1 { return try step(tokens[0]) }
        try check(tokens)
        let V = model.config.vocabularySize
        if everyLogProbabilities.count < tokens.count * V { everyLogProbabilities = Tensor(zeros: [tokens.count, V]) }
        return decode(
            tokens, in: Buffers(tokens: tokens.count, members: memberCount, config: model.config),
            into: everyLogProbabilities.pointer)
    }

    /// Throws unless `tokens` are ids of the vocabulary that fit after what the cache holds, with
    /// the errors the model's own forward gives.
    private func check(_ tokens: [Int32]) throws {
        let c = model.config
        try ModelInputError.check(tokens, targets: nil, batch: 1, vocabulary: c.vocabularySize)
        guard cache.length + tokens.count <= c.positions else {
            throw ModelInputError.contextTooLong(length: cache.length + tokens.count, positions: c.positions)
        }
    }

    /// Runs checked `tokens` through the model at the positions after the cache, appending
    /// their keys and values, and returns the log-probabilities after the last one, or after
    /// every one into `every` ([n, V]) where given. Each
    /// product multiplies every token's vector at once (`DecoderMatrix.multiply(_:vectors:…)`);
    /// each token attends over the cache up to itself, one after another.
    private func decode(
        _ tokens: [Int32], in buffers: Buffers, into every: UnsafeMutablePointer<Float>? = nil
    ) -> UnsafeBufferPointer<Float> {
        let c = model.config, p = model.parameters
        let (D, I, V, n) = (c.modelWidth, c.innerWidth, c.vocabularySize, tokens.count)
        let start = cache.length
        // The distributions asked for: after the last token, or after every one into `every`.
        let (out, rows) = (every ?? logProbabilities.pointer, every == nil ? 1 : n)
        for (i, token) in tokens.enumerated() {
            Residual.forward(
                out: buffers.x.pointer + i * D, a: p.tokenEmbedding.pointer + Int(token) * D,
                b: p.positionEmbedding.pointer + (start + i) * D, count: D)
        }
        // A read of many tokens through integer products rounds each product's input vectors once,
        // each member its share, into buffers all members then read; a step (one vector, where
        // a meeting would cost more than the rounding) has each member normalise and round it.
        let shared = n > 1 && precision.isInteger && !layers.isEmpty
        let roundedNarrow = shared ? layers[0].qkv.with { DecoderMatrix.RoundedInputs(capacity: n, for: $0) } : nil
        let roundedWide =
            shared ? layers[0].feedForwardOut.with { DecoderMatrix.RoundedInputs(capacity: n, for: $0) } : nil
        let (narrow, wide) = (roundedNarrow.map(Unretained.init), roundedWide.map(Unretained.init))
        // The threads run the whole pass together, each its share of the heads and of every
        // product, meeting where a piece reads what the others wrote; each normalises into its
        // own buffer.
        WorkerPool.shared.together(threads: min(Parallel.threadCount, memberCount)) { team in
            let norm = buffers.norm.pointer + team.member * n * D
            let heads = team.share(of: c.heads), part = heads.lowerBound * c.headSize..<heads.upperBound * c.headSize
            let (qkv, attended, hidden, x) = (
                buffers.qkv.pointer, buffers.attended.pointer, buffers.hidden.pointer, buffers.x.pointer
            )
            /// The n vectors of `input` ([n, width], LayerNorm `p` first where given) through
            /// `matrix`'s rows `rows` into `y` (then `epilogue`).
            func product(
                _ matrix: Unretained<DecoderMatrix>, _ input: UnsafePointer<Float>, width: Int,
                normalizedBy p: LayerNormPointers? = nil, rounded: Unretained<DecoderMatrix.RoundedInputs>?,
                bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, outputStride: Int,
                epilogue: DecoderMatrix.Epilogue = .store, rows: ((DecoderMatrix) -> RowRanges)? = nil
            ) {
                matrix.with { m in
                    let rowRanges = rows?(m) ?? RowRanges(team.share(of: m.outputs, granularity: 4))
                    if let rounded {
                        let mine = team.share(of: n)
                        var source = input
                        if let p {
                            normalize(
                                input + mine.lowerBound * width, rows: mine.count, p,
                                into: norm + mine.lowerBound * width)
                            source = UnsafePointer(norm)
                        }
                        rounded.with { m.round(source, vectors: mine, inputStride: width, into: $0) }
                        team.wait()
                        rounded.with {
                            m.multiply(
                                $0, vectors: n, bias: bias, into: y, outputStride: outputStride, epilogue: epilogue,
                                rowRanges: rowRanges)
                        }
                    } else {
                        var source = input
                        if let p {
                            normalize(input, rows: n, p, into: norm)
                            source = UnsafePointer(norm)
                        }
                        m.multiply(
                            source, vectors: n, inputStride: width, bias: bias, into: y, outputStride: outputStride,
                            epilogue: epilogue, rowRanges: rowRanges)
                    }
                }
            }
            for (l, layer) in layers.enumerated() {
                // Each member projects the q, k and v rows of its own heads, all its attention
                // reads, so no meeting is needed before it attends.
                product(
                    layer.qkv, x, width: D, normalizedBy: layer.attentionNorm, rounded: narrow, bias: layer.qkvBias,
                    into: qkv, outputStride: 3 * D, rows: { _ in RowRanges(part, repeated: 3, every: D) })
                // The tokens' keys and values first (in blocks of slots), then each token attends
                // over the cache up to itself.
                stepCache.store(
                    layer: l, positions: start..<start + n, keys: qkv + D, values: qkv + 2 * D, rowStride: 3 * D,
                    heads: heads)
                // The float32 rows serve only a float decoder's batched reads (an integer one reads
                // through this pass).
                for i in 0..<n where !precision.isInteger {
                    let row = qkv + i * 3 * D, slot = (start + i) * D + part.lowerBound
                    (layer.keys + slot).update(from: row + D + part.lowerBound, count: part.count)
                    (layer.values + slot).update(from: row + 2 * D + part.lowerBound, count: part.count)
                }
                stepCache.attend(
                    layer: l, queries: qkv, queryStride: 3 * D, count: n, firstSlots: start + 1, out: attended,
                    outStride: D, scores: probabilities.pointer, heads: heads)
                team.wait()
                product(
                    layer.output, attended, width: D, rounded: narrow, bias: layer.outputBias, into: x,
                    outputStride: D, epilogue: .accumulate)
                team.wait()
                product(
                    layer.feedForwardIn, x, width: D, normalizedBy: layer.feedForwardNorm, rounded: narrow,
                    bias: layer.feedForwardInBias, into: hidden, outputStride: I, epilogue: .gelu)
                team.wait()
                product(
                    layer.feedForwardOut, hidden, width: I, rounded: wide, bias: layer.feedForwardOutBias, into: x,
                    outputStride: D, epilogue: .accumulate)
                team.wait()
            }
            // Tied output: logits = ln_f(x) · wteᵀ, wte stored [V, D] (already rows of dot products),
            // for the last `rows` tokens.
            normalize(x + (n - rows) * D, rows: rows, finalNorm, into: norm)
            outputMatrix.multiply(
                norm, vectors: rows, inputStride: D, bias: nil, into: out, outputStride: V,
                rowRanges: RowRanges(team.share(of: V, granularity: 4)))
        }
        withExtendedLifetime((roundedNarrow, roundedWide)) {}  // read through `narrow` and `wide` until here
        cache.advance(by: n)
        CrossEntropy.logSoftmax(out: out, logits: out, rows: rows, classes: V)
        return UnsafeBufferPointer(start: out, count: rows * V)
    }

    /// `out = LayerNorm(input)` ([rows, D] each) with the parameters `p`.
    private func normalize(
        _ input: UnsafePointer<Float>, rows: Int, _ p: LayerNormPointers, into out: UnsafeMutablePointer<Float>
    ) {
        p.normalize(input, rows: rows, width: width, epsilon: epsilon, into: out)
    }
}
