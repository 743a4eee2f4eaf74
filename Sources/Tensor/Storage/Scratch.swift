/// Reusable float32 scratch buffers for kernels that need per-thread working memory
/// (attention's transposed heads and score blocks). Buffers above malloc's mmap threshold
/// would otherwise be mapped, page-faulted and unmapped on every call; here each is
/// allocated once and handed from call to call (at most a few: one per concurrent thread).
enum Scratch {
    /// An owned, 64-byte aligned buffer of `capacity` floats.
    final class Buffer {
        let pointer: UnsafeMutablePointer<Float>
        let capacity: Int

        init(capacity: Int) {
            self.capacity = capacity
            pointer = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, capacity) * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: Swift.max(1, capacity))
        }

        deinit { UnsafeMutableRawPointer(pointer).deallocate() }
    }

    /// Idle buffers, at most `limit` of them.
    private static let idle = Locked<[Buffer]>([])
    private static let limit = 8

    /// Calls `body` with a buffer of at least `count` floats (contents undefined), taken from
    /// the idle list when one is large enough, and returns it there afterwards.
    static func withBuffer<Result>(_ count: Int, _ body: (UnsafeMutablePointer<Float>) -> Result) -> Result {
        let buffer =
            idle.withLock { list -> Buffer? in
                guard let index = list.firstIndex(where: { $0.capacity >= count }) else { return nil }
                return list.remove(at: index)
            } ?? Buffer(capacity: count)
        defer {
            idle.withLock { list in
                list.append(buffer)
                if list.count > limit {
                    // Keep the largest: they serve every smaller request.
                    list.sort { $0.capacity > $1.capacity }
                    list.removeLast(list.count - limit)
                }
            }
        }
        return body(buffer.pointer)
    }
}
