import Tensor

/// The source of dropout masks: a seeded generator in training, nothing in evaluation.
///
/// Each stream of a batch (a Transformer-XL stream, a GPT-2 window) draws its part of a mask
/// from a generator of its own, keyed by one draw of `generator` per dropout site and by the
/// stream's index in the whole batch. A batch split over several processes
/// (docs/training.md, "Data-parallel training") therefore draws exactly the masks that one
/// process reading the whole batch draws.
public struct DropoutSource {
    /// nil: evaluation, every dropout is the identity.
    public var generator: SeededGenerator?
    /// The index, in the whole batch, of this process's first stream (0 in one process).
    public var firstStream: Int

    /// Training with masks drawn from `generator`, for a process whose streams start at
    /// `firstStream` of the whole batch.
    public static func training(_ generator: SeededGenerator, firstStream: Int = 0) -> DropoutSource {
        DropoutSource(generator: generator, firstStream: firstStream)
    }
    /// Evaluation: no dropout.
    public static let evaluation = DropoutSource(generator: nil, firstStream: 0)

    /// Applies dropout with probability `p` to `x`, whose leading dimension is the batch's
    /// `streams`, in place, and returns the mask it used (nil when nothing was dropped:
    /// evaluation or p = 0).
    mutating func apply(_ x: Tensor, probability p: Float, streams: Int) -> Tensor? {
        mask(count: x.count, probability: p, streams: streams, applyingTo: x)
    }

    /// Applies one mask, shared by every stream, to `x` (Transformer-XL's relative-position
    /// sinusoids, which all streams read), in place; returns it as `apply` does.
    mutating func applyShared(_ x: Tensor, probability p: Float) -> Tensor? {
        guard p > 0, generator != nil else { return nil }
        let mask = Tensor(uninitialized: [x.count])
        Dropout.forward(
            out: x.pointer, input: x.pointer, mask: mask.pointer, count: x.count, probability: p,
            generator: &generator!)
        return mask
    }

    /// A mask of `count` entries laid out as `streams` equal parts, one per stream, or nil;
    /// multiplied into `x` ([count]) as it is drawn, when given.
    mutating func mask(count: Int, probability p: Float, streams: Int, applyingTo x: Tensor? = nil) -> Tensor? {
        guard p > 0, generator != nil else { return nil }
        precondition(streams > 0 && count % streams == 0, "a mask of \(count) entries is not \(streams) equal parts")
        let key = generator!.next(), first = UInt64(firstStream)
        var generators = (0..<streams).map { SeededGenerator(seed: SeededShuffle.mix(key, first + UInt64($0))) }
        let mask = Tensor(uninitialized: [count])
        Dropout.makeMasks(
            mask.pointer, streams: streams, count: count / streams, probability: p, generators: &generators,
            applyingTo: x?.pointer)
        return mask
    }
}

/// Multiplies a gradient by a saved dropout mask in place (identity for nil).
func dropoutBackward(_ gradient: Tensor, mask: Tensor?) {
    guard let mask else { return }
    Dropout.forward(out: gradient.pointer, input: gradient.pointer, mask: mask.pointer, count: gradient.count)
}

/// The gradient times a saved dropout mask, in a new tensor; `gradient` itself for nil. For a
/// residual connection whose branch sees the dropped gradient while the skip path keeps adding
/// into the original: one pass instead of a copy and an in-place multiply (the caller must read
/// the result before adding into `gradient`, which it may alias).
func droppedOut(_ gradient: Tensor, mask: Tensor?) -> Tensor {
    guard let mask else { return gradient }
    let dropped = Tensor(uninitialized: gradient.shape)
    Dropout.forward(out: dropped.pointer, input: gradient.pointer, mask: mask.pointer, count: gradient.count)
    return dropped
}
