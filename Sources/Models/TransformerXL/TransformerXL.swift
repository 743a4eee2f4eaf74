import Foundation
import Tensor

/// One Transformer-XL layer's parameters, named as in the reference state_dict
/// (`layers.{i}.dec_attn.*`, `layers.{i}.pos_ff.*`). Linear weights are PyTorch's [out, in].
public struct TransformerXLLayerParameters {
    /// `dec_attn.qkv_net.weight` [3 * H * d, D], no bias.
    public var qkv: Tensor
    /// `dec_attn.r_net.weight` [H * d, D], no bias: projects the position sinusoids.
    public var positionProjection: Tensor
    /// `dec_attn.o_net.weight` [D, H * d], no bias.
    public var output: Tensor
    /// `dec_attn.layer_norm`: after the attention residual (post-norm).
    public var attentionNorm: LayerNormParameters
    /// `pos_ff.CoreNet.0` weight [I, D] and bias [I].
    public var feedForwardIn: Tensor, feedForwardInBias: Tensor
    /// `pos_ff.CoreNet.3` weight [D, I] and bias [D].
    public var feedForwardOut: Tensor, feedForwardOutBias: Tensor
    /// `pos_ff.layer_norm`: after the feed-forward residual.
    public var feedForwardNorm: LayerNormParameters

    func named(_ i: Int) -> [(name: String, tensor: Tensor)] {
        let p = "layers.\(i)."
        return [
            (p + "dec_attn.qkv_net.weight", qkv), (p + "dec_attn.r_net.weight", positionProjection),
            (p + "dec_attn.o_net.weight", output),
        ]
            + attentionNorm.named(p + "dec_attn.layer_norm")
            + [
                (p + "pos_ff.CoreNet.0.weight", feedForwardIn), (p + "pos_ff.CoreNet.0.bias", feedForwardInBias),
                (p + "pos_ff.CoreNet.3.weight", feedForwardOut), (p + "pos_ff.CoreNet.3.bias", feedForwardOutBias),
            ]
            + feedForwardNorm.named(p + "pos_ff.layer_norm")
    }

    func zerosLike() -> TransformerXLLayerParameters {
        func z(_ t: Tensor) -> Tensor { Tensor(zeros: t.shape) }
        return TransformerXLLayerParameters(
            qkv: z(qkv), positionProjection: z(positionProjection), output: z(output),
            attentionNorm: attentionNorm.zerosLike(), feedForwardIn: z(feedForwardIn),
            feedForwardInBias: z(feedForwardInBias), feedForwardOut: z(feedForwardOut),
            feedForwardOutBias: z(feedForwardOutBias), feedForwardNorm: feedForwardNorm.zerosLike())
    }
}

/// All Transformer-XL parameters, under the reference model's state_dict names, so a Cadenza
/// checkpoint loads into `MemTransformerLM` unchanged (div_val 1, no cutoffs, tied output).
public struct TransformerXLParameters: ParameterSet {
    /// `word_emb.emb_layers.0.weight` [V, D]; also the output weight (tied).
    public var embedding: Tensor
    /// `r_w_bias` [H, d]: the content bias u, shared by all layers as in the reference.
    public var contentBias: Tensor
    /// `r_r_bias` [H, d]: the position bias v, shared by all layers.
    public var positionBias: Tensor
    /// `layers.{i}`.
    public var layers: [TransformerXLLayerParameters]
    /// `crit.out_layers.0.bias` [V].
    public var outputBias: Tensor

    public func namedTensors() -> [(name: String, tensor: Tensor)] {
        [("word_emb.emb_layers.0.weight", embedding), ("r_w_bias", contentBias), ("r_r_bias", positionBias)]
            + layers.enumerated().flatMap { $1.named($0) }
            + [("crit.out_layers.0.bias", outputBias)]
    }

    public func zerosLike() -> TransformerXLParameters {
        TransformerXLParameters(
            embedding: Tensor(zeros: embedding.shape), contentBias: Tensor(zeros: contentBias.shape),
            positionBias: Tensor(zeros: positionBias.shape), layers: layers.map { $0.zerosLike() },
            outputBias: Tensor(zeros: outputBias.shape))
    }

    /// Parameters drawn, for `.drawn`, as the reference's `weights_init` does (spec, "Init"):
    /// linear and embedding weights N(0, 0.02), biases 0, u and v N(0, 0.02), LayerNorm gain
    /// N(1, 0.02).
    public init(config c: ModelConfig, weights: WeightFill) {
        var g = Initializer(weights)
        let (D, HD, I) = (c.modelWidth, c.heads * c.headSize, c.innerWidth)
        embedding = g.normal([c.vocabularySize, D])
        contentBias = g.normal([c.heads, c.headSize])
        positionBias = g.normal([c.heads, c.headSize])
        layers = (0..<c.layers).map { _ in
            TransformerXLLayerParameters(
                qkv: g.normal([3 * HD, D]), positionProjection: g.normal([HD, D]), output: g.normal([D, HD]),
                attentionNorm: LayerNormParameters(width: D, &g, gainDeviation: 0.02),
                feedForwardIn: g.normal([I, D]), feedForwardInBias: g.constant([I]),
                feedForwardOut: g.normal([D, I]), feedForwardOutBias: g.constant([D]),
                feedForwardNorm: LayerNormParameters(width: D, &g, gainDeviation: 0.02))
        }
        outputBias = g.constant([c.vocabularySize])
    }

    init(
        embedding: Tensor, contentBias: Tensor, positionBias: Tensor, layers: [TransformerXLLayerParameters],
        outputBias: Tensor
    ) {
        self.embedding = embedding
        self.contentBias = contentBias
        self.positionBias = positionBias
        self.layers = layers
        self.outputBias = outputBias
    }
}

/// What one layer's forward saved for its backward. Shapes: B streams, T queries, M memory
/// rows, K = M + T keys, D width, H heads of d, I inner width.
struct TransformerXLLayerActivations {
    /// [B, T, D]: the layer input h (also what the memory keeps).
    var input: Tensor
    /// [B, K, D]: concat(memory, h).
    var context: Tensor
    /// [B, K, 3 * H * d]: q, k, v of every context row.
    var qkv: Tensor
    /// [K, H * d]: projected position sinusoids, row p = distance p.
    var positions: Tensor
    /// [B, H, T, K]: attention probabilities, and their dropout mask (or nil).
    var probabilities: Tensor, attentionMask: Tensor?
    /// [B, T, H * d]: heads concatenated.
    var attended: Tensor
    /// Dropout mask on the attention output (or nil).
    var attentionOutputMask: Tensor?
    /// [B, T, D]: h + attention output, and its LayerNorm.
    var attentionResidual: Tensor, attentionNorm: NormActivations
    /// [B, T, I]: after ReLU and dropout (with its mask); what the ReLU's backward reads, since
    /// an output is above 0 exactly where its input was and dropout kept it (where it did not,
    /// the gradient is 0 already).
    var hidden: Tensor, hiddenMask: Tensor?
    /// Dropout mask on the feed-forward output (or nil).
    var feedForwardMask: Tensor?
    /// [B, T, D]: first norm's output + feed-forward, and its LayerNorm (the layer output).
    var feedForwardResidual: Tensor, feedForwardNorm: NormActivations
}

/// A segment's forward pass: the log-probabilities and loss, and everything the backward reads.
public struct TransformerXLSegment {
    /// [B, T, V]: log-softmax of the logits.
    public let logProbabilities: Tensor
    /// Mean cross-entropy over the B x T targets (0 without targets).
    public let loss: Float
    let tokens: [Int32], targets: [Int32]?
    let shape: AttentionShape
    /// [K, D]: position sinusoids after dropout, and the mask.
    let sinusoids: Tensor, sinusoidMask: Tensor?
    let embeddingMask: Tensor?
    let layers: [TransformerXLLayerActivations]
    /// [B, T, D]: the last output after dropout (the input of the output layer), and its mask.
    let finalHidden: Tensor, finalMask: Tensor?
    /// [B, T, D]: the last layer's output (before the output dropout).
    public let output: Tensor
}

/// Transformer-XL (Dai et al., 2019), exactly as its specification (named in docs/models.md) and the
/// authors' `MemTransformerLM` (attn_type 0, post-norm, div_val 1, tied output): segment
/// recurrence with a detached memory per layer and relative positions with u/v biases.
public struct TransformerXL: CheckpointedModel {
    /// Sizes and switches.
    public let config: ModelConfig
    /// The weights.
    public var parameters: TransformerXLParameters

    /// A model with weights filled by `weights` (`.drawn`: the spec init).
    public init(config: ModelConfig, weights: WeightFill) throws {
        try config.validate()
        guard config.kind == .transformerXL else {
            throw ModelConfigError.invalid(field: "kind", value: config.kind.rawValue, rule: "must be transformer-xl")
        }
        self.config = config
        self.parameters = TransformerXLParameters(config: config, weights: weights)
        AllocatorSetup.once
    }

    /// An empty memory for `batch` streams, keeping `capacity` rows (default: the config's mem_len).
    public func emptyMemory(batch: Int, memoryLength: Int? = nil) -> Memory {
        Memory(
            memoryLength: memoryLength ?? config.memoryLength, layers: config.layers, batch: batch,
            width: config.modelWidth)
    }

    /// The position sinusoids for distances 0..<count (spec step 2): sines then cosines, with
    /// distances clamped at `clamp_len` when it is positive. [count, D].
    func sinusoids(count: Int) -> Tensor {
        let table = Tensor(zeros: [count, config.modelWidth])
        Sinusoid.forward(out: table.pointer, count: count, width: config.modelWidth, clampLength: config.clampLength)
        return table
    }

    /// Runs one segment: `tokens` holds B streams of T ids (row-major [B, T]); `targets`, if
    /// given, the next id for each. Reads `memory` and replaces it by the updated memory.
    ///
    /// With `saveForBackward` false (evaluation, generation) each layer's activations are freed
    /// as soon as the next layer has read them, so only one layer's are alive at a time; the
    /// pass then cannot be differentiated and `backward` leaves the gradients untouched.
    public func forward(
        tokens: [Int32], targets: [Int32]? = nil, batch B: Int, memory: inout Memory,
        dropout: inout DropoutSource, saveForBackward: Bool = true
    ) throws -> TransformerXLSegment {
        let c = config
        try ModelInputError.check(tokens, targets: targets, batch: B, vocabulary: c.vocabularySize)
        guard memory.batch == B, memory.layers.count == c.layers, memory.width == c.modelWidth else {
            throw ModelInputError.memoryMismatch(
                expected: "\(c.layers) layers of [\(B), M, \(c.modelWidth)]",
                found: "\(memory.layers.count) layers of [\(memory.batch), M, \(memory.width)]")
        }
        let (T, M, D, H, d, I) = (tokens.count / B, memory.rowsHeld, c.modelWidth, c.heads, c.headSize, c.innerWidth)
        let (K, HD, rows) = (M + T, c.heads * c.headSize, tokens.count)
        let shape = AttentionShape(
            batch: B, queries: T, memory: M, heads: H, headSize: d,
            window: c.sameLength ? memory.memoryLength : nil)

        // Steps 1-3: scaled embedding and sinusoids, each after dropout.
        var h = Tensor(uninitialized: [B, T, D])
        tokens.withUnsafeBufferPointer {
            Embedding.forward(
                out: h.pointer, tokens: $0.baseAddress!, table: parameters.embedding.pointer,
                count: rows, width: D, vocabulary: c.vocabularySize, scale: Float(D).squareRoot())
        }
        let embeddingMask = dropout.apply(h, probability: c.dropout, streams: B)
        let pe = sinusoids(count: K)
        let sinusoidMask = dropout.applyShared(pe, probability: c.dropout)

        var saved: [TransformerXLLayerActivations] = []
        var inputs: [Tensor] = []
        for (l, p) in parameters.layers.enumerated() {
            let input = h
            let context = Tensor(uninitialized: [B, K, D])
            let m = memory.layers[l]
            for b in 0..<B {
                (context.pointer + b * K * D).update(from: m.pointer + b * M * D, count: M * D)
                (context.pointer + (b * K + M) * D).update(from: input.pointer + b * T * D, count: T * D)
            }
            let qkv = Tensor(uninitialized: [B, K, 3 * HD])
            Linear.forward(
                out: qkv.pointer, input: context.pointer, weight: p.qkv.pointer, bias: nil,
                rows: B * K, inFeatures: D, outFeatures: 3 * HD)
            let positions = Tensor(uninitialized: [K, HD])
            Linear.forward(
                out: positions.pointer, input: pe.pointer, weight: p.positionProjection.pointer, bias: nil,
                rows: K, inFeatures: D, outFeatures: HD)
            let probabilities = Tensor(uninitialized: [B, H, T, K])  // every row written by softmax
            let attentionMask = dropout.mask(count: probabilities.count, probability: c.attentionDropout, streams: B)
            let attended = Tensor(uninitialized: [B, T, HD])
            let views = Self.qkvViews(qkv, shape)
            Attention.forward(
                out: attended.pointer, probabilities: probabilities.pointer,
                q: views.q, k: views.k, v: views.v,
                relative: RelativeTerms(
                    r: positions.pointer, u: parameters.contentBias.pointer,
                    v: parameters.positionBias.pointer),
                dropMask: attentionMask.map { UnsafePointer($0.pointer) }, shape: shape)
            let attentionResidual = Tensor(uninitialized: [B, T, D])
            Linear.forward(
                out: attentionResidual.pointer, input: attended.pointer, weight: p.output.pointer, bias: nil,
                rows: rows, inFeatures: HD, outFeatures: D)
            let attentionOutputMask = dropout.apply(attentionResidual, probability: c.dropout, streams: B)
            Residual.forward(
                out: attentionResidual.pointer, a: attentionResidual.pointer, b: input.pointer, count: rows * D)
            let attentionNorm = NormActivations(
                attentionResidual, p.attentionNorm, rows: rows, width: D,
                epsilon: c.layerNormEpsilon)

            let hidden = Tensor(uninitialized: [B, T, I])
            Linear.forward(
                out: hidden.pointer, input: attentionNorm.out.pointer, weight: p.feedForwardIn.pointer,
                bias: p.feedForwardInBias.pointer, rows: rows, inFeatures: D, outFeatures: I, rectified: true)
            let hiddenMask = dropout.apply(hidden, probability: c.dropout, streams: B)
            let ffResidual = Tensor(uninitialized: [B, T, D])
            Linear.forward(
                out: ffResidual.pointer, input: hidden.pointer, weight: p.feedForwardOut.pointer,
                bias: p.feedForwardOutBias.pointer, rows: rows, inFeatures: I, outFeatures: D)
            let feedForwardMask = dropout.apply(ffResidual, probability: c.dropout, streams: B)
            Residual.forward(
                out: ffResidual.pointer, a: ffResidual.pointer, b: attentionNorm.out.pointer, count: rows * D)
            let ffNorm = NormActivations(
                ffResidual, p.feedForwardNorm, rows: rows, width: D, epsilon: c.layerNormEpsilon)
            inputs.append(input)
            if saveForBackward {
                saved.append(
                    TransformerXLLayerActivations(
                        input: input, context: context, qkv: qkv, positions: positions, probabilities: probabilities,
                        attentionMask: attentionMask, attended: attended, attentionOutputMask: attentionOutputMask,
                        attentionResidual: attentionResidual, attentionNorm: attentionNorm, hidden: hidden,
                        hiddenMask: hiddenMask, feedForwardMask: feedForwardMask,
                        feedForwardResidual: ffResidual, feedForwardNorm: ffNorm))
            }
            h = ffNorm.out
        }
        memory = memory.updated(with: inputs)

        // Step 5: dropout, tied output with its own bias, log-softmax, loss.
        let finalHidden = Tensor(copying: h)
        let finalMask = dropout.apply(finalHidden, probability: c.dropout, streams: B)
        let (logp, loss) = TiedOutput.forward(
            hidden: finalHidden, embedding: parameters.embedding,
            bias: parameters.outputBias, targets: targets, rows: rows,
            width: D, vocabulary: c.vocabularySize, shape: [B, T, c.vocabularySize])
        return TransformerXLSegment(
            logProbabilities: logp, loss: loss,
            tokens: tokens, targets: targets, shape: shape, sinusoids: pe, sinusoidMask: sinusoidMask,
            embeddingMask: embeddingMask, layers: saved, finalHidden: finalHidden, finalMask: finalMask, output: h)
    }

    /// Adds the gradient of `segment.loss` into `gradients` (no gradient flows into the memory).
    /// A segment run without targets or without `saveForBackward` has no gradient: nothing is added.
    public func backward(_ segment: TransformerXLSegment, gradients: TransformerXLParameters) {
        let c = config
        guard let targets = segment.targets, segment.layers.count == c.layers else { return }
        let s = segment.shape
        let (B, T, M, K, D, I) = (s.batch, s.queries, s.memory, s.keys, c.modelWidth, c.innerWidth)
        let (HD, rows) = (c.heads * c.headSize, B * T)
        var dh = Tensor(zeros: [B, T, D])
        TiedOutput.backward(
            dHidden: dh, dEmbedding: gradients.embedding, dBias: gradients.outputBias,
            logProbabilities: segment.logProbabilities, hidden: segment.finalHidden,
            embedding: parameters.embedding, targets: targets, rows: rows, width: D,
            vocabulary: c.vocabularySize)
        dropoutBackward(dh, mask: segment.finalMask)

        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let (a, p, g) = (segment.layers[l], parameters.layers[l], gradients.layers[l])
            // Feed-forward block, from its LayerNorm back to its input (the first norm's output).
            // Buffers a kernel is the first and only writer of are not zeroed: it overwrites them.
            let dffResidual = Tensor(uninitialized: [B, T, D])
            a.feedForwardNorm.backward(
                dInput: dffResidual, dOut: dh, input: a.feedForwardResidual, p.feedForwardNorm,
                gradients: g.feedForwardNorm, rows: rows, width: D, write: .overwrite)
            let dBranch = droppedOut(dffResidual, mask: a.feedForwardMask)
            let dHidden = Tensor(uninitialized: [B, T, I])
            Linear.backward(
                dInput: dHidden.pointer, dWeight: g.feedForwardOut.pointer, dBias: g.feedForwardOutBias.pointer,
                dOut: dBranch.pointer, input: a.hidden.pointer, weight: p.feedForwardOut.pointer,
                rows: rows, inFeatures: I, outFeatures: D, inputWrite: .overwrite)
            dropoutBackward(dHidden, mask: a.hiddenMask)
            let dPre = Tensor(uninitialized: [B, T, I])
            ReLU.backward(
                dInput: dPre.pointer, dOut: dHidden.pointer, output: a.hidden.pointer,
                count: dPre.count, write: .overwrite)
            // The skip path's gradient is dffResidual itself, added to in place: dBranch's reads are done.
            let dNorm1 = dffResidual
            Linear.backward(
                dInput: dNorm1.pointer, dWeight: g.feedForwardIn.pointer, dBias: g.feedForwardInBias.pointer,
                dOut: dPre.pointer, input: a.attentionNorm.out.pointer, weight: p.feedForwardIn.pointer,
                rows: rows, inFeatures: D, outFeatures: I)

            // Attention block: LayerNorm, residual, output projection, attention, qkv.
            let dAttnResidual = Tensor(uninitialized: [B, T, D])
            a.attentionNorm.backward(
                dInput: dAttnResidual, dOut: dNorm1, input: a.attentionResidual, p.attentionNorm,
                gradients: g.attentionNorm, rows: rows, width: D, write: .overwrite)
            let dAttentionBranch = droppedOut(dAttnResidual, mask: a.attentionOutputMask)
            let dAttended = Tensor(uninitialized: [B, T, HD])
            Linear.backward(
                dInput: dAttended.pointer, dWeight: g.output.pointer, dBias: nil, dOut: dAttentionBranch.pointer,
                input: a.attended.pointer, weight: p.output.pointer, rows: rows, inFeatures: HD, outFeatures: D,
                inputWrite: .overwrite)
            let dqkv = Tensor(zeros: [B, K, 3 * HD])
            let dPositions = Tensor(zeros: [K, HD])
            let views = Self.qkvViews(a.qkv, s), dViews = Self.qkvViews(dqkv, s)
            Attention.backward(
                dq: dViews.q, dk: dViews.k, dv: dViews.v,
                dRelative: RelativeGradients(
                    r: dPositions.pointer, u: gradients.contentBias.pointer,
                    v: gradients.positionBias.pointer),
                dOut: dAttended.pointer, probabilities: a.probabilities.pointer,
                q: views.q, k: views.k, v: views.v,
                relative: RelativeTerms(
                    r: a.positions.pointer, u: parameters.contentBias.pointer,
                    v: parameters.positionBias.pointer),
                dropMask: a.attentionMask.map { UnsafePointer($0.pointer) }, shape: s)
            Linear.backward(
                dInput: nil, dWeight: g.positionProjection.pointer, dBias: nil, dOut: dPositions.pointer,
                input: segment.sinusoids.pointer, weight: p.positionProjection.pointer,
                rows: K, inFeatures: D, outFeatures: HD)
            // Memory rows contribute to the qkv weight's gradient but receive none themselves,
            // so the input gradient is computed for the T segment rows of each stream only.
            Linear.backward(
                dInput: nil, dWeight: g.qkv.pointer, dBias: nil, dOut: dqkv.pointer,
                input: a.context.pointer, weight: p.qkv.pointer, rows: B * K, inFeatures: D, outFeatures: 3 * HD)
            // Again in place: dAttentionBranch's reads are done.
            let dInput = dAttnResidual
            for b in 0..<B {
                Linear.backward(
                    dInput: dInput.pointer + b * T * D, dWeight: nil, dBias: nil,
                    dOut: dqkv.pointer + (b * K + M) * 3 * HD, input: a.context.pointer,
                    weight: p.qkv.pointer, rows: T, inFeatures: D, outFeatures: 3 * HD)
            }
            dh = dInput
        }
        dropoutBackward(dh, mask: segment.embeddingMask)
        segment.tokens.withUnsafeBufferPointer {
            Embedding.backward(
                dTable: gradients.embedding.pointer, dOut: dh.pointer, tokens: $0.baseAddress!,
                count: rows, width: D, scale: Float(D).squareRoot())
        }
    }

    /// q (the last T rows), k and v (all K rows) inside a [B, K, 3 * H * d] projection.
    static func qkvViews(_ qkv: Tensor, _ s: AttentionShape) -> (q: HeadRows, k: HeadRows, v: HeadRows) {
        let HD = s.heads * s.headSize, row = 3 * HD, batch = s.keys * row
        return (
            HeadRows(base: qkv.pointer + s.memory * row, rowStride: row, batchStride: batch),
            HeadRows(base: qkv.pointer + HD, rowStride: row, batchStride: batch),
            HeadRows(base: qkv.pointer + 2 * HD, rowStride: row, batchStride: batch)
        )
    }
}
