/// A Fisher-Yates shuffle drawn from a `SeededGenerator` seeded with `seed`, so that an order
/// depends only on the seed (and is recomputed, not stored, when a run resumes).
public struct SeededShuffle: Sendable {
    /// The seed of the generator.
    public var seed: UInt64

    /// Creates a shuffle for `seed`.
    public init(seed: UInt64) { self.seed = seed }

    /// `items` in shuffled order.
    public func apply<T>(_ items: [T]) -> [T] {
        var generator = SeededGenerator(seed: seed)
        var result = items
        guard result.count > 1 else { return result }
        for i in stride(from: result.count - 1, to: 0, by: -1) {
            let j = Int(generator.next() % UInt64(i + 1))
            result.swapAt(i, j)
        }
        return result
    }

    /// A seed mixed from several values (run seed, epoch, purpose), so that related streams
    /// are unrelated.
    public static func mix(_ values: UInt64...) -> UInt64 {
        var h: UInt64 = 0x243F_6A88_85A3_08D3
        for v in values {
            var generator = SeededGenerator(seed: h ^ v)
            h = generator.next()
        }
        return h
    }
}
