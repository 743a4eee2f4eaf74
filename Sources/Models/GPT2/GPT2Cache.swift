import Tensor

/// GPT-2's key/value cache for generation: per layer, the keys and values of every position
/// read so far ([B, positions, D] each, heads side by side), so a new token costs one T = 1 pass.
public final class GPT2Cache {
    /// Streams.
    public let batch: Int
    /// Positions filled (the context read so far).
    public private(set) var length: Int = 0
    /// The most positions the model can read.
    public let capacity: Int
    let keys: [Tensor], values: [Tensor]

    init(layers: Int, batch: Int, capacity: Int, width: Int) {
        self.batch = batch
        self.capacity = capacity
        keys = (0..<layers).map { _ in Tensor(zeros: [batch, capacity, width]) }
        values = (0..<layers).map { _ in Tensor(zeros: [batch, capacity, width]) }
    }

    /// Forgets everything read (a new piece).
    public func reset() { length = 0 }

    func advance(by count: Int) { length += count }
}
