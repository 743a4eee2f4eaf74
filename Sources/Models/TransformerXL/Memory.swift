import Tensor

/// Transformer-XL's memory: for each layer, the hidden states it attends to before the current
/// segment (spec, "Memory"). Empty at the start (no zero rows); after each segment, for every
/// layer input h_0 ... h_{L-1}, the last `memoryLength` rows of [memory; h], detached.
public struct Memory {
    /// mem_len: the most rows kept per layer.
    public let memoryLength: Int
    /// Streams (B); each keeps its own rows.
    public let batch: Int
    /// Width of a row (D).
    public let width: Int
    /// One tensor per layer, [B, M, D].
    public private(set) var layers: [Tensor]

    /// Rows currently held per layer (M), at most `memoryLength`.
    public var rowsHeld: Int { layers.first.map { $0.shape[1] } ?? 0 }

    /// An empty memory for `layers` layers of B streams.
    public init(memoryLength: Int, layers: Int, batch: Int, width: Int) {
        self.memoryLength = memoryLength
        self.batch = batch
        self.width = width
        self.layers = (0..<layers).map { _ in Tensor(zeros: [batch, 0, width]) }
    }

    /// A memory holding `layers` ([B, M, D] each, one per layer, all of one shape), as a
    /// checkpoint saved them; nil when the tensors do not make one (shapes differ, or more
    /// rows than `memoryLength`).
    public init?(memoryLength: Int, layers: [Tensor]) {
        guard let first = layers.first, first.shape.count == 3, first.shape[1] <= memoryLength,
            layers.allSatisfy({ $0.shape == first.shape })
        else { return nil }
        self.memoryLength = memoryLength
        self.batch = first.shape[0]
        self.width = first.shape[2]
        self.layers = layers
    }

    /// The rows of streams `streams` only (a process's share in data-parallel training).
    public func streams(_ streams: Range<Int>) -> Memory {
        var part = self
        part.layers = layers.map { t in
            let (M, D) = (t.shape[1], t.shape[2])
            let out = Tensor(zeros: [streams.count, M, D])
            out.pointer.update(from: t.pointer + streams.lowerBound * M * D, count: streams.count * M * D)
            return out
        }
        return Memory(memoryLength: memoryLength, layers: part.layers) ?? part
    }

    /// The memory after a segment whose layer inputs were `inputs` ([B, T, D] each).
    func updated(with inputs: [Tensor]) -> Memory {
        var next = self
        next.layers = zip(layers, inputs).map { old, h in Memory.lastRows(old, h, memoryLength) }
        return next
    }

    /// The last `capacity` rows of [old; h] per stream.
    static func lastRows(_ old: Tensor, _ h: Tensor, _ capacity: Int) -> Tensor {
        let (B, M, T, D) = (old.shape[0], old.shape[1], h.shape[1], old.shape[2])
        let keep = min(capacity, M + T)
        let out = Tensor(zeros: [B, keep, D])
        for b in 0..<B {
            for row in 0..<keep {
                let t = M + T - keep + row  // row index in [old; h]
                let source = t < M ? old.pointer + (b * M + t) * D : h.pointer + (b * T + t - M) * D
                (out.pointer + (b * keep + row) * D).update(from: source, count: D)
            }
        }
        return out
    }
}
