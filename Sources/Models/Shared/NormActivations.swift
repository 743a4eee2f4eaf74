import Tensor

// Pieces both models are made of: LayerNorm with its saved statistics, dropout sites, and the
// tied output layer with its loss. Each wraps a Tensor kernel with the buffers it saves.

/// What a LayerNorm forward saved: its output and per-row mean and 1/std.
struct NormActivations {
    /// [rows, D], in the input's shape.
    var out: Tensor
    /// [rows].
    var mean: Tensor
    /// [rows].
    var rstd: Tensor

    /// LayerNorm of `input` [rows, D].
    init(_ input: Tensor, _ p: LayerNormParameters, rows: Int, width: Int, epsilon: Float) {
        out = Tensor(zeros: input.shape)
        mean = Tensor(zeros: [rows])
        rstd = Tensor(zeros: [rows])
        LayerNorm.forward(out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: input.pointer,
                          weight: p.weight.pointer, bias: p.bias.pointer, rows: rows, width: width, eps: epsilon)
    }

    /// Adds the gradients into `dInput` and `gradients`.
    func backward(dInput: Tensor, dOut: Tensor, input: Tensor, _ p: LayerNormParameters,
                  gradients: LayerNormParameters, rows: Int, width: Int) {
        LayerNorm.backward(dInput: dInput.pointer, dWeight: gradients.weight.pointer, dBias: gradients.bias.pointer,
                           dOut: dOut.pointer, input: input.pointer, weight: p.weight.pointer,
                           mean: mean.pointer, rstd: rstd.pointer, rows: rows, width: width)
    }
}

/// The source of dropout masks: a seeded generator in training, nothing in evaluation.
public struct DropoutSource {
    /// nil: evaluation, every dropout is the identity.
    public var generator: SeededGenerator?

    /// Training with masks drawn from `generator`.
    public static func training(_ generator: SeededGenerator) -> DropoutSource { DropoutSource(generator: generator) }
    /// Evaluation: no dropout.
    public static let evaluation = DropoutSource(generator: nil)

    /// Applies dropout with probability `p` to `x` in place and returns the mask it used
    /// (nil when nothing was dropped: evaluation or p = 0).
    mutating func apply(_ x: Tensor, probability p: Float) -> Tensor? {
        guard p > 0, generator != nil else { return nil }
        let mask = Tensor(zeros: [x.count])
        Dropout.forward(out: x.pointer, input: x.pointer, mask: mask.pointer, count: x.count, probability: p,
                        generator: &generator!)
        return mask
    }

    /// A mask of `count` entries for attention probabilities, or nil.
    mutating func mask(count: Int, probability p: Float) -> Tensor? {
        guard p > 0, generator != nil else { return nil }
        let mask = Tensor(zeros: [count])
        Dropout.makeMask(mask.pointer, count: count, probability: p, generator: &generator!)
        return mask
    }
}

/// Multiplies a gradient by a saved dropout mask in place (identity for nil).
func dropoutBackward(_ gradient: Tensor, mask: Tensor?) {
    guard let mask else { return }
    Dropout.forward(out: gradient.pointer, input: gradient.pointer, mask: mask.pointer, count: gradient.count)
}

/// The output layer tied to the token embedding: `logits = h E^T (+ b)`, log-softmax, and the
/// mean cross-entropy over the rows that have targets.
enum TiedOutput {
    /// Log-probabilities of `hidden` [rows, D], in a tensor of `shape` (rows x V elements);
    /// the mean loss when `targets` are given, else 0.
    static func forward(hidden: Tensor, embedding: Tensor, bias: Tensor?, targets: [Int32]?,
                        rows: Int, width: Int, vocabulary: Int, shape: [Int]) -> (logProbabilities: Tensor, loss: Float) {
        let logp = Tensor(zeros: shape)
        Linear.forward(out: logp.pointer, input: hidden.pointer, weight: embedding.pointer, layout: .outByIn,
                       bias: bias?.pointer, rows: rows, inFeatures: width, outFeatures: vocabulary)
        let losses = Tensor(zeros: [rows])
        // Without targets every row is ignored: the kernel still writes the log-softmax.
        let loss = (targets ?? Array(repeating: ignored, count: rows)).withUnsafeBufferPointer {
            CrossEntropy.forward(logProbabilities: logp.pointer, losses: losses.pointer, logits: logp.pointer,
                                 targets: $0.baseAddress!, rows: rows, classes: vocabulary, ignoreIndex: ignored)
        }
        return (logp, loss)
    }

    /// A target id that is never a token.
    private static let ignored: Int32 = -1

    /// Adds the gradient of the mean loss into `dHidden`, `dEmbedding` and `dBias`.
    static func backward(dHidden: Tensor, dEmbedding: Tensor, dBias: Tensor?, logProbabilities: Tensor,
                         hidden: Tensor, embedding: Tensor, targets: [Int32], rows: Int, width: Int, vocabulary: Int) {
        let dLogits = Tensor(zeros: [rows, vocabulary])
        targets.withUnsafeBufferPointer {
            CrossEntropy.backward(dLogits: dLogits.pointer, logProbabilities: logProbabilities.pointer,
                                  targets: $0.baseAddress!, rows: rows, classes: vocabulary)
        }
        Linear.backward(dInput: dHidden.pointer, dWeight: dEmbedding.pointer, dBias: dBias?.pointer,
                        dOut: dLogits.pointer, input: hidden.pointer, weight: embedding.pointer, layout: .outByIn,
                        rows: rows, inFeatures: width, outFeatures: vocabulary)
    }
}

/// Why a model call's input is unusable.
public enum ModelInputError: Error, CustomStringConvertible, Equatable {
    /// A token id outside the vocabulary, at flat index `index`.
    case tokenOutOfRange(token: Int32, index: Int, vocabulary: Int)
    /// `count` tokens do not fill `batch` rows evenly (or the batch is empty).
    case raggedBatch(count: Int, batch: Int)
    /// The memory was built for another batch size, layer count or width.
    case memoryMismatch(expected: String, found: String)
    /// More positions than a GPT-2 can read.
    case contextTooLong(length: Int, positions: Int)
    /// Targets must match the tokens one for one.
    case targetCount(tokens: Int, targets: Int)

    public var description: String {
        switch self {
        case let .tokenOutOfRange(token, index, vocabulary):
            return "token \(token) at index \(index) is outside the vocabulary 0..<\(vocabulary)"
        case let .raggedBatch(count, batch): return "\(count) tokens cannot be split into \(batch) equal streams"
        case let .memoryMismatch(expected, found): return "memory does not fit the model: expected \(expected), found \(found)"
        case let .contextTooLong(length, positions):
            return "context of \(length) tokens exceeds the model's \(positions) learned positions"
        case let .targetCount(tokens, targets): return "\(targets) targets for \(tokens) tokens"
        }
    }

    /// Checks that `tokens` split into `batch` streams and all lie in the vocabulary.
    static func check(_ tokens: [Int32], targets: [Int32]?, batch: Int, vocabulary: Int) throws {
        guard batch > 0, !tokens.isEmpty, tokens.count % batch == 0 else {
            throw ModelInputError.raggedBatch(count: tokens.count, batch: batch)
        }
        if let targets, targets.count != tokens.count {
            throw ModelInputError.targetCount(tokens: tokens.count, targets: targets.count)
        }
        for (index, t) in (tokens + (targets ?? [])).enumerated() where t < 0 || Int(t) >= vocabulary {
            throw ModelInputError.tokenOutOfRange(token: t, index: index % tokens.count, vocabulary: vocabulary)
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The models allocate their activations afresh for every pass (plain tensors a pass owns, as
/// llm.c's structs but per call). glibc serves blocks this large with mmap and unmaps them on
/// free, so every pass would fault in (and the kernel zero) every page again: a fifth of a
/// training step in measurements. Raising the mmap and trim thresholds keeps freed blocks in
/// the heap for the next pass; peak memory is unchanged. Done once, when a model is built.
enum AllocatorSetup {
    static let once: Void = {
        #if canImport(Glibc)
        // mallopt is not in Swift's Glibc module; look it up. M_TRIM_THRESHOLD = -1 and
        // M_MMAP_THRESHOLD = -3 in <malloc.h>.
        typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
        _ = mallopt(-3, 1 << 30)
        _ = mallopt(-1, 1 << 30)
        #endif
    }()
}
