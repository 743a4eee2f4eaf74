import Tensor

/// One GPT-2 block's parameters under Hugging Face's names (`transformer.h.{i}.*`). The
/// linear weights are Conv1D weights, stored [in, out]: y = x W + b.
public struct GPT2LayerParameters {
    /// `ln_1`: before attention (pre-norm).
    public var attentionNorm: LayerNormParameters
    /// `attn.c_attn` weight [D, 3D] and bias [3D]: q, k, v are the three D-wide thirds.
    public var qkv: Tensor, qkvBias: Tensor
    /// `attn.c_proj` weight [D, D] and bias [D].
    public var output: Tensor, outputBias: Tensor
    /// `ln_2`: before the MLP.
    public var feedForwardNorm: LayerNormParameters
    /// `mlp.c_fc` weight [D, I] and bias [I].
    public var feedForwardIn: Tensor, feedForwardInBias: Tensor
    /// `mlp.c_proj` weight [I, D] and bias [D].
    public var feedForwardOut: Tensor, feedForwardOutBias: Tensor

    func named(_ i: Int) -> [(name: String, tensor: Tensor)] {
        let p = "transformer.h.\(i)."
        return attentionNorm.named(p + "ln_1")
            + [
                (p + "attn.c_attn.weight", qkv), (p + "attn.c_attn.bias", qkvBias),
                (p + "attn.c_proj.weight", output), (p + "attn.c_proj.bias", outputBias),
            ]
            + feedForwardNorm.named(p + "ln_2")
            + [
                (p + "mlp.c_fc.weight", feedForwardIn), (p + "mlp.c_fc.bias", feedForwardInBias),
                (p + "mlp.c_proj.weight", feedForwardOut), (p + "mlp.c_proj.bias", feedForwardOutBias),
            ]
    }

    func zerosLike() -> GPT2LayerParameters {
        func z(_ t: Tensor) -> Tensor { Tensor(zeros: t.shape) }
        return GPT2LayerParameters(
            attentionNorm: attentionNorm.zerosLike(), qkv: z(qkv), qkvBias: z(qkvBias), output: z(output),
            outputBias: z(outputBias), feedForwardNorm: feedForwardNorm.zerosLike(), feedForwardIn: z(feedForwardIn),
            feedForwardInBias: z(feedForwardInBias), feedForwardOut: z(feedForwardOut),
            feedForwardOutBias: z(feedForwardOutBias))
    }
}

/// All GPT-2 parameters under the names of Hugging Face's `GPT2LMHeadModel` (the output layer
/// is the token embedding, not stored again).
public struct GPT2Parameters: ParameterSet {
    /// `transformer.wte.weight` [V, D]; also the output weight (tied, no bias).
    public var tokenEmbedding: Tensor
    /// `transformer.wpe.weight` [positions, D].
    public var positionEmbedding: Tensor
    /// `transformer.h.{i}`.
    public var layers: [GPT2LayerParameters]
    /// `transformer.ln_f`: the final LayerNorm.
    public var finalNorm: LayerNormParameters

    public func namedTensors() -> [(name: String, tensor: Tensor)] {
        [("transformer.wte.weight", tokenEmbedding), ("transformer.wpe.weight", positionEmbedding)]
            + layers.enumerated().flatMap { $1.named($0) }
            + finalNorm.named("transformer.ln_f")
    }

    public func zerosLike() -> GPT2Parameters {
        GPT2Parameters(
            tokenEmbedding: Tensor(zeros: tokenEmbedding.shape),
            positionEmbedding: Tensor(zeros: positionEmbedding.shape),
            layers: layers.map { $0.zerosLike() }, finalNorm: finalNorm.zerosLike())
    }

    /// GPT-2's init (spec, "GPT-2") for `.drawn`: weights N(0, 0.02), the two residual
    /// projections N(0, 0.02 / sqrt(2L)), biases 0, LayerNorm gain 1 and bias 0.
    public init(config c: ModelConfig, weights: WeightFill) {
        var g = Initializer(weights)
        let (D, I) = (c.modelWidth, c.innerWidth)
        let residualDeviation = 0.02 / Float(2 * c.layers).squareRoot()
        tokenEmbedding = g.normal([c.vocabularySize, D])
        positionEmbedding = g.normal([c.positions, D])
        layers = (0..<c.layers).map { _ in
            GPT2LayerParameters(
                attentionNorm: LayerNormParameters(width: D, &g, gainDeviation: 0),
                qkv: g.normal([D, 3 * D]), qkvBias: g.constant([3 * D]),
                output: g.normal([D, D], standardDeviation: residualDeviation), outputBias: g.constant([D]),
                feedForwardNorm: LayerNormParameters(width: D, &g, gainDeviation: 0),
                feedForwardIn: g.normal([D, I]), feedForwardInBias: g.constant([I]),
                feedForwardOut: g.normal([I, D], standardDeviation: residualDeviation),
                feedForwardOutBias: g.constant([D]))
        }
        finalNorm = LayerNormParameters(width: D, &g, gainDeviation: 0)
    }

    init(
        tokenEmbedding: Tensor, positionEmbedding: Tensor, layers: [GPT2LayerParameters], finalNorm: LayerNormParameters
    ) {
        self.tokenEmbedding = tokenEmbedding
        self.positionEmbedding = positionEmbedding
        self.layers = layers
        self.finalNorm = finalNorm
    }
}

/// What one GPT-2 block's forward saved. B streams, T positions, D width, I inner width.
struct GPT2LayerActivations {
    /// [B, T, D]: the residual stream entering the block.
    var input: Tensor
    var attentionNorm: NormActivations
    /// [B, T, 3D].
    var qkv: Tensor
    /// [B, H, T, T] and its dropout mask.
    var probabilities: Tensor, attentionMask: Tensor?
    /// [B, T, D]: heads concatenated.
    var attended: Tensor
    var attentionOutputMask: Tensor?
    /// [B, T, D]: input + attention output.
    var middle: Tensor
    var feedForwardNorm: NormActivations
    /// [B, T, I]: before and after GELU.
    var hiddenPreActivation: Tensor, hidden: Tensor
    var feedForwardMask: Tensor?
}

/// A GPT-2 forward pass: log-probabilities, loss, and what the backward reads.
public struct GPT2Pass {
    /// [B, T, V]: log-softmax of the logits.
    public let logProbabilities: Tensor
    /// Mean cross-entropy over the B x T targets (0 without targets).
    public let loss: Float
    let tokens: [Int32], targets: [Int32]?, batch: Int
    let embeddingMask: Tensor?
    let layers: [GPT2LayerActivations]
    /// [B, T, D]: the residual stream after the last block, and its final LayerNorm.
    let last: Tensor, finalNorm: NormActivations
}

/// GPT-2 (Radford et al., 2019) as Hugging Face's `GPT2LMHeadModel`: learned positions,
/// pre-LayerNorm blocks, GELU (tanh), final LayerNorm, output tied to the token embedding.
public struct GPT2: CheckpointedModel {
    /// Sizes and switches (`positions` is the context window).
    public let config: ModelConfig
    /// The weights.
    public var parameters: GPT2Parameters

    /// A model with weights filled by `weights` (`.drawn`: the spec init).
    public init(config: ModelConfig, weights: WeightFill) throws {
        try config.validate()
        guard config.kind == .gpt2 else {
            throw ModelConfigError.invalid(field: "kind", value: config.kind.rawValue, rule: "must be gpt2")
        }
        self.config = config
        self.parameters = GPT2Parameters(config: config, weights: weights)
        AllocatorSetup.once
    }

    /// An empty KV cache for `batch` streams.
    public func makeCache(batch: Int) -> GPT2Cache {
        GPT2Cache(layers: config.layers, batch: batch, capacity: config.positions, width: config.modelWidth)
    }

    /// Runs `tokens` (B streams of T ids, row-major [B, T]) at positions 0..<T; `targets`, if
    /// given, the next id of each.
    ///
    /// With `saveForBackward` false (evaluation) each block's activations are freed once the
    /// next block has read them; `backward` then adds nothing.
    public func forward(
        tokens: [Int32], targets: [Int32]? = nil, batch: Int,
        dropout: inout DropoutSource, saveForBackward: Bool = true
    ) throws -> GPT2Pass {
        try run(tokens: tokens, targets: targets, batch: batch, cache: nil, dropout: &dropout, save: saveForBackward)
    }

    /// Reads `tokens` (B streams of T new ids) after what `cache` holds, appending their keys
    /// and values; returns the log-probabilities of the next token at each new position.
    public func forward(tokens: [Int32], batch: Int, cache: GPT2Cache) throws -> Tensor {
        var dropout = DropoutSource.evaluation
        return try run(tokens: tokens, targets: nil, batch: batch, cache: cache, dropout: &dropout, save: false)
            .logProbabilities
    }

    private func run(
        tokens: [Int32], targets: [Int32]?, batch B: Int, cache: GPT2Cache?,
        dropout: inout DropoutSource, save: Bool
    ) throws -> GPT2Pass {
        let c = config
        try ModelInputError.check(tokens, targets: targets, batch: B, vocabulary: c.vocabularySize)
        let (T, D, H, I, rows) = (tokens.count / B, c.modelWidth, c.heads, c.innerWidth, tokens.count)
        let start = cache?.length ?? 0
        guard start + T <= c.positions else {
            throw ModelInputError.contextTooLong(length: start + T, positions: c.positions)
        }
        if let cache, cache.batch != B {
            throw ModelInputError.memoryMismatch(expected: "a cache of \(B) streams", found: "\(cache.batch) streams")
        }
        let shape = AttentionShape(batch: B, queries: T, memory: start, heads: H, headSize: c.headSize)

        var x = Tensor(uninitialized: [B, T, D])
        tokens.withUnsafeBufferPointer {
            Embedding.forward(
                out: x.pointer, tokens: $0.baseAddress!, table: parameters.tokenEmbedding.pointer,
                count: rows, width: D, vocabulary: c.vocabularySize)
        }
        for b in 0..<B {
            for t in 0..<T {
                Residual.forward(
                    out: x.pointer + (b * T + t) * D, a: x.pointer + (b * T + t) * D,
                    b: parameters.positionEmbedding.pointer + (start + t) * D, count: D)
            }
        }
        let embeddingMask = dropout.apply(x, probability: c.dropout, streams: B)

        var saved: [GPT2LayerActivations] = []
        for (l, p) in parameters.layers.enumerated() {
            let input = x
            let norm1 = NormActivations(input, p.attentionNorm, rows: rows, width: D, epsilon: c.layerNormEpsilon)
            let qkv = Tensor(uninitialized: [B, T, 3 * D])
            Linear.forward(
                out: qkv.pointer, input: norm1.out.pointer, weight: p.qkv.pointer, layout: .inByOut,
                bias: p.qkvBias.pointer, rows: rows, inFeatures: D, outFeatures: 3 * D)
            var views = Self.qkvViews(qkv, T)
            if let cache {
                // Append the new keys and values, then attend over the whole cache.
                let (keys, values) = (cache.keys[l], cache.values[l])
                for b in 0..<B {
                    for t in 0..<T {
                        let row = qkv.pointer + (b * T + t) * 3 * D, slot = (b * c.positions + start + t) * D
                        (keys.pointer + slot).update(from: row + D, count: D)
                        (values.pointer + slot).update(from: row + 2 * D, count: D)
                    }
                }
                views.k = HeadRows(base: keys.pointer, rowStride: D, batchStride: c.positions * D)
                views.v = HeadRows(base: values.pointer, rowStride: D, batchStride: c.positions * D)
            }
            let probabilities = Tensor(uninitialized: [B, H, T, start + T])  // every row written by softmax
            let attentionMask = dropout.mask(count: probabilities.count, probability: c.attentionDropout, streams: B)
            let attended = Tensor(uninitialized: [B, T, D])
            Attention.forward(
                out: attended.pointer, probabilities: probabilities.pointer,
                q: views.q, k: views.k, v: views.v, relative: nil,
                dropMask: attentionMask.map { UnsafePointer($0.pointer) }, shape: shape)
            let middle = Tensor(uninitialized: [B, T, D])
            Linear.forward(
                out: middle.pointer, input: attended.pointer, weight: p.output.pointer, layout: .inByOut,
                bias: p.outputBias.pointer, rows: rows, inFeatures: D, outFeatures: D)
            let attentionOutputMask = dropout.apply(middle, probability: c.dropout, streams: B)
            Residual.forward(out: middle.pointer, a: middle.pointer, b: input.pointer, count: rows * D)

            let norm2 = NormActivations(middle, p.feedForwardNorm, rows: rows, width: D, epsilon: c.layerNormEpsilon)
            let pre = Tensor(uninitialized: [B, T, I])
            Linear.forward(
                out: pre.pointer, input: norm2.out.pointer, weight: p.feedForwardIn.pointer, layout: .inByOut,
                bias: p.feedForwardInBias.pointer, rows: rows, inFeatures: D, outFeatures: I)
            let hidden = Tensor(uninitialized: [B, T, I])
            GELU.forward(out: hidden.pointer, input: pre.pointer, count: hidden.count)
            let out = Tensor(uninitialized: [B, T, D])
            Linear.forward(
                out: out.pointer, input: hidden.pointer, weight: p.feedForwardOut.pointer, layout: .inByOut,
                bias: p.feedForwardOutBias.pointer, rows: rows, inFeatures: I, outFeatures: D)
            let feedForwardMask = dropout.apply(out, probability: c.dropout, streams: B)
            Residual.forward(out: out.pointer, a: out.pointer, b: middle.pointer, count: rows * D)
            if save {
                saved.append(
                    GPT2LayerActivations(
                        input: input, attentionNorm: norm1, qkv: qkv, probabilities: probabilities,
                        attentionMask: attentionMask,
                        attended: attended, attentionOutputMask: attentionOutputMask, middle: middle,
                        feedForwardNorm: norm2,
                        hiddenPreActivation: pre, hidden: hidden, feedForwardMask: feedForwardMask))
            }
            x = out
        }
        cache?.advance(by: T)
        let finalNorm = NormActivations(x, parameters.finalNorm, rows: rows, width: D, epsilon: c.layerNormEpsilon)
        let (logp, loss) = TiedOutput.forward(
            hidden: finalNorm.out, embedding: parameters.tokenEmbedding, bias: nil,
            targets: targets, rows: rows, width: D, vocabulary: c.vocabularySize,
            shape: [B, T, c.vocabularySize])
        return GPT2Pass(
            logProbabilities: logp, loss: loss,
            tokens: tokens, targets: targets, batch: B, embeddingMask: embeddingMask, layers: saved,
            last: x, finalNorm: finalNorm)
    }

    /// Adds the gradient of `pass.loss` into `gradients` (a pass without a cache). A pass run
    /// without targets or without `saveForBackward` has no gradient: nothing is added.
    public func backward(_ pass: GPT2Pass, gradients: GPT2Parameters) {
        let c = config
        guard let targets = pass.targets, pass.layers.count == c.layers else { return }
        let (B, D, I, rows) = (pass.batch, c.modelWidth, c.innerWidth, pass.tokens.count)
        let T = rows / B
        let shape = AttentionShape(batch: B, queries: T, memory: 0, heads: c.heads, headSize: c.headSize)
        let dNormOut = Tensor(zeros: [B, T, D])
        TiedOutput.backward(
            dHidden: dNormOut, dEmbedding: gradients.tokenEmbedding, dBias: nil,
            logProbabilities: pass.logProbabilities, hidden: pass.finalNorm.out,
            embedding: parameters.tokenEmbedding, targets: targets, rows: rows, width: D,
            vocabulary: c.vocabularySize)
        // dx is the gradient of the residual stream; each block adds its branch's share.
        // Buffers a kernel is the first and only writer of are not zeroed: it overwrites them.
        var dx = Tensor(uninitialized: [B, T, D])
        pass.finalNorm.backward(
            dInput: dx, dOut: dNormOut, input: pass.last, parameters.finalNorm,
            gradients: gradients.finalNorm, rows: rows, width: D, write: .overwrite)
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let (a, p, g) = (pass.layers[l], parameters.layers[l], gradients.layers[l])
            // MLP branch: out = middle + drop(c_proj(gelu(c_fc(ln_2(middle))))).
            let dBranch = droppedOut(dx, mask: a.feedForwardMask)
            let dHidden = Tensor(uninitialized: [B, T, I])
            Linear.backward(
                dInput: dHidden.pointer, dWeight: g.feedForwardOut.pointer, dBias: g.feedForwardOutBias.pointer,
                dOut: dBranch.pointer, input: a.hidden.pointer, weight: p.feedForwardOut.pointer,
                layout: .inByOut, rows: rows, inFeatures: I, outFeatures: D, inputWrite: .overwrite)
            let dPre = Tensor(uninitialized: [B, T, I])
            GELU.backward(
                dInput: dPre.pointer, dOut: dHidden.pointer, input: a.hiddenPreActivation.pointer, count: dPre.count,
                write: .overwrite)
            let dNorm2 = Tensor(uninitialized: [B, T, D])
            Linear.backward(
                dInput: dNorm2.pointer, dWeight: g.feedForwardIn.pointer, dBias: g.feedForwardInBias.pointer,
                dOut: dPre.pointer, input: a.feedForwardNorm.out.pointer, weight: p.feedForwardIn.pointer,
                layout: .inByOut, rows: rows, inFeatures: D, outFeatures: I, inputWrite: .overwrite)
            // The skip path's gradient is dx itself, added to in place: dBranch's reads are done.
            let dMiddle = dx
            a.feedForwardNorm.backward(
                dInput: dMiddle, dOut: dNorm2, input: a.middle, p.feedForwardNorm,
                gradients: g.feedForwardNorm, rows: rows, width: D)
            // Attention branch: middle = input + drop(c_proj(attention(c_attn(ln_1(input))))).
            let dAttentionBranch = droppedOut(dMiddle, mask: a.attentionOutputMask)
            let dAttended = Tensor(uninitialized: [B, T, D])
            Linear.backward(
                dInput: dAttended.pointer, dWeight: g.output.pointer, dBias: g.outputBias.pointer,
                dOut: dAttentionBranch.pointer, input: a.attended.pointer, weight: p.output.pointer,
                layout: .inByOut, rows: rows, inFeatures: D, outFeatures: D, inputWrite: .overwrite)
            let dqkv = Tensor(zeros: [B, T, 3 * D])
            let views = Self.qkvViews(a.qkv, T), dViews = Self.qkvViews(dqkv, T)
            Attention.backward(
                dq: dViews.q, dk: dViews.k, dv: dViews.v, dRelative: nil, dOut: dAttended.pointer,
                probabilities: a.probabilities.pointer, q: views.q, k: views.k, v: views.v,
                relative: nil, dropMask: a.attentionMask.map { UnsafePointer($0.pointer) }, shape: shape)
            let dNorm1 = Tensor(uninitialized: [B, T, D])
            Linear.backward(
                dInput: dNorm1.pointer, dWeight: g.qkv.pointer, dBias: g.qkvBias.pointer, dOut: dqkv.pointer,
                input: a.attentionNorm.out.pointer, weight: p.qkv.pointer, layout: .inByOut,
                rows: rows, inFeatures: D, outFeatures: 3 * D, inputWrite: .overwrite)
            // Again in place: dAttentionBranch's reads are done.
            a.attentionNorm.backward(
                dInput: dMiddle, dOut: dNorm1, input: a.input, p.attentionNorm,
                gradients: g.attentionNorm, rows: rows, width: D)
            dx = dMiddle
        }
        dropoutBackward(dx, mask: pass.embeddingMask)
        pass.tokens.withUnsafeBufferPointer {
            Embedding.backward(
                dTable: gradients.tokenEmbedding.pointer, dOut: dx.pointer, tokens: $0.baseAddress!,
                count: rows, width: D)
        }
        for b in 0..<B {
            Residual.backward(
                dA: gradients.positionEmbedding.pointer, dB: nil, dOut: dx.pointer + b * T * D, count: T * D)
        }
    }

    /// q, k, v inside a [B, T, 3D] projection (heads side by side in each third).
    static func qkvViews(_ qkv: Tensor, _ T: Int) -> (q: HeadRows, k: HeadRows, v: HeadRows) {
        let row = qkv.shape[2], D = row / 3
        return (
            HeadRows(base: qkv.pointer, rowStride: row, batchStride: T * row),
            HeadRows(base: qkv.pointer + D, rowStride: row, batchStride: T * row),
            HeadRows(base: qkv.pointer + 2 * D, rowStride: row, batchStride: T * row)
        )
    }
}
