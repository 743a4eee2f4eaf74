import Tensor

/// GPT-2 generation one token at a time with its KV cache: `read` takes a context in one
/// batched pass (`GPT2.forward(tokens:batch:cache:)`), then each `step` is a T = 1 pass that
/// appends one row of keys and values per layer and attends over the cache.
///
/// A step is six layers of matrix-vector products (each of the model's weights read once), so
/// its speed is how fast the weights stream from cache. Three things make that fast here:
/// - the decoder keeps its own copy of every weight matrix as a `DecoderMatrix`, transposed to
///   [out, in], so each output is a dot product along a contiguous row (Hugging Face's
///   [in, out] `Conv1D` layout makes each output a sum of scaled rows instead, which runs
///   slower: docs/benchmarks.md, section Tensor GEMM, [1x256]x[256x768] with and without ᵀ);
/// - that copy may be float16 or int8 (`precision`), a half or a quarter of the bytes to stream
///   per token, and int8's integer products do more multiply-adds per instruction than
///   float16's (docs/tensor-kernels.md);
/// - every buffer a step writes is allocated once, here, so a step allocates nothing.
/// The copy costs memory: the weights' size again in float32, a half in float16, a quarter in int8.
public final class GPT2Decoder {
    /// The model being run.
    public let model: GPT2
    /// The keys and values read so far (one stream).
    public let cache: GPT2Cache

    /// How the decoder's copy of the weights is stored.
    public let precision: DecoderMatrix.Precision

    /// Per layer, the four weight matrices as [out, in] rows.
    private struct LayerMatrices {
        var qkv, output, feedForwardIn, feedForwardOut: DecoderMatrix
    }
    private let layers: [LayerMatrices]
    /// The tied output layer: the token embedding [V, D].
    private let outputMatrix: DecoderMatrix
    /// The cached keys and values again, laid out for one query at a time and in `precision`
    /// (`cache`'s own float32 rows serve batched reads).
    private let stepCache: DecoderCache
    /// Step buffers: residual stream, its LayerNorm, q|k|v, heads, MLP hidden,
    /// attention probabilities, LayerNorm statistics, and the log-probabilities returned.
    private let x: Tensor, norm: Tensor, qkv: Tensor, attended: Tensor, hidden: Tensor
    private let probabilities: Tensor, mean: Tensor, rstd: Tensor, logProbabilities: Tensor

    /// A decoder for one stream, with an empty cache, stepping with weights in `precision`
    /// (float32: the model's own numbers; float16 and int8: faster, weights rounded).
    public init(model: GPT2, precision: DecoderMatrix.Precision = .float32) {
        let c = model.config
        let (D, I, V) = (c.modelWidth, c.innerWidth, c.vocabularySize)
        self.model = model
        self.precision = precision
        cache = model.makeCache(batch: 1)
        func conv1D(_ w: Tensor) -> DecoderMatrix {  // stored [in, out]
            DecoderMatrix(w.pointer, outputs: w.shape[1], inputs: w.shape[0], transposed: true, precision: precision)
        }
        layers = model.parameters.layers.map { p in
            LayerMatrices(
                qkv: conv1D(p.qkv), output: conv1D(p.output),
                feedForwardIn: conv1D(p.feedForwardIn), feedForwardOut: conv1D(p.feedForwardOut))
        }
        outputMatrix = DecoderMatrix(
            model.parameters.tokenEmbedding.pointer, outputs: V, inputs: D,
            transposed: false, precision: precision)
        x = Tensor(zeros: [1, D]); norm = Tensor(zeros: [1, D]); qkv = Tensor(zeros: [1, 3 * D])
        attended = Tensor(zeros: [1, D]); hidden = Tensor(zeros: [1, I])
        stepCache = DecoderCache(
            layers: c.layers, heads: c.heads, headSize: c.headSize, capacity: c.positions,
            precision: precision)
        probabilities = Tensor(zeros: [stepCache.scoreScratchCount])
        mean = Tensor(zeros: [1]); rstd = Tensor(zeros: [1])
        logProbabilities = Tensor(zeros: [1, V])
    }

    /// Positions read so far.
    public var length: Int { cache.length }

    /// Forgets everything read.
    public func reset() { cache.reset() }

    /// Reads `tokens` after what the cache holds, in one batched pass, and returns the
    /// log-probabilities of the token after the last one ([V], valid until the next call).
    public func read(_ tokens: [Int32]) throws -> UnsafeBufferPointer<Float> {
        if tokens.count == 1 { return try step(tokens[0]) }
        let start = cache.length
        let all = try model.forward(tokens: tokens, batch: 1, cache: cache)
        for l in 0..<model.config.layers {
            for position in start..<cache.length { copyToStepCache(layer: l, position: position) }
        }
        let V = model.config.vocabularySize
        logProbabilities.pointer.update(from: all.pointer + (tokens.count - 1) * V, count: V)
        return UnsafeBufferPointer(start: logProbabilities.pointer, count: V)
    }

    /// Reads one token and returns the log-probabilities of the next ([V], valid until the
    /// next call). Equals `GPT2.forward(tokens:batch:cache:)` on the same token to rounding.
    public func step(_ token: Int32) throws -> UnsafeBufferPointer<Float> {
        let c = model.config, p = model.parameters
        let (D, V) = (c.modelWidth, c.vocabularySize)
        guard token >= 0, Int(token) < V else {
            throw ModelInputError.tokenOutOfRange(token: token, index: 0, vocabulary: V)
        }
        let position = cache.length
        guard position < c.positions else {
            throw ModelInputError.contextTooLong(length: position + 1, positions: c.positions)
        }
        Residual.forward(
            out: x.pointer, a: p.tokenEmbedding.pointer + Int(token) * D,
            b: p.positionEmbedding.pointer + position * D, count: D)
        for (l, (layer, weights)) in zip(p.layers, layers).enumerated() {
            normalize(x, layer.attentionNorm)
            weights.qkv.multiply(norm.pointer, bias: layer.qkvBias.pointer, into: qkv.pointer)
            let slot = position * D
            (cache.keys[l].pointer + slot).update(from: qkv.pointer + D, count: D)
            (cache.values[l].pointer + slot).update(from: qkv.pointer + 2 * D, count: D)
            stepCache.append(
                layer: l, key: qkv.pointer + D, value: qkv.pointer + 2 * D,
                thenAttend: qkv.pointer, slots: 0..<position + 1, out: attended.pointer,
                scores: probabilities.pointer)
            weights.output.multiply(
                attended.pointer, bias: layer.outputBias.pointer, into: x.pointer, epilogue: .accumulate)
            normalize(x, layer.feedForwardNorm)
            weights.feedForwardIn.multiply(
                norm.pointer, bias: layer.feedForwardInBias.pointer, into: hidden.pointer,
                epilogue: .gelu)
            weights.feedForwardOut.multiply(
                hidden.pointer, bias: layer.feedForwardOutBias.pointer, into: x.pointer,
                epilogue: .accumulate)
        }
        cache.advance(by: 1)
        normalize(x, p.finalNorm)
        // Tied output: logits = ln_f(x) · wteᵀ, wte stored [V, D] (already rows of dot products).
        outputMatrix.multiply(norm.pointer, bias: nil, into: logProbabilities.pointer)
        CrossEntropy.logSoftmax(out: logProbabilities.pointer, logits: logProbabilities.pointer, rows: 1, classes: V)
        return UnsafeBufferPointer(start: logProbabilities.pointer, count: V)
    }

    /// Copies the batched pass's key and value at `position` of layer `l` into `stepCache`.
    private func copyToStepCache(layer l: Int, position: Int) {
        let D = model.config.modelWidth
        stepCache.store(
            layer: l, position: position, key: cache.keys[l].pointer + position * D,
            value: cache.values[l].pointer + position * D)
    }

    /// `norm = LayerNorm(input)` with the parameters `p`.
    private func normalize(_ input: Tensor, _ p: LayerNormParameters) {
        LayerNorm.forward(
            out: norm.pointer, mean: mean.pointer, rstd: rstd.pointer, input: input.pointer,
            weight: p.weight.pointer, bias: p.bias.pointer, rows: 1,
            width: model.config.modelWidth, eps: model.config.layerNormEpsilon)
    }
}
