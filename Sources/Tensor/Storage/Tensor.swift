/// A dense float32 tensor: a shape and contiguous row-major storage.
///
/// Storage is a 64-byte aligned buffer owned by this object (a `final class`, because a
/// tensor is a large mutable buffer with identity: parameters, gradients and activations are
/// allocated once and reused, never copied on write). Kernels take raw pointers obtained once
/// per call, as in llm.c, so nothing in an inner loop retains, releases or bounds-checks.
public final class Tensor {
    /// The size of each dimension, outermost first.
    public let shape: [Int]
    /// The number of elements (the product of `shape`).
    public let count: Int
    /// The first element. Valid for `count` elements while this tensor is alive.
    public let pointer: UnsafeMutablePointer<Float>

    /// Creates a tensor of the given shape whose elements are not set yet: for the output of a
    /// kernel that writes every element (a forward's result, a copy), so that it is not first
    /// zeroed for nothing. Reading an element before it is written gives an arbitrary value.
    public init(uninitialized shape: [Int]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.shape = shape
        self.count = shape.reduce(1, *)
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Float>.stride,
            alignment: 64)
        self.pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        #if DEBUG
            // Debug builds (the tests) start every element as NaN, so that a kernel reading an
            // element before anything wrote it shows in its results instead of reading the zeros
            // a fresh page happens to hold.
            pointer.initialize(repeating: .nan, count: max(count, 1))
        #endif
    }

    /// Creates a tensor of the given shape filled with zeros.
    public convenience init(zeros shape: [Int]) {
        self.init(uninitialized: shape)
        zero()
    }

    /// Creates a copy of `other`: the same shape and elements, in storage of its own.
    public convenience init(copying other: Tensor) {
        self.init(uninitialized: other.shape)
        let (to, from) = (pointer, UnsafePointer(other.pointer))
        Parallel.forEachRange(count, minimumChunk: Self.chunkPerThread) { range in
            (to + range.lowerBound).update(from: from + range.lowerBound, count: range.count)
        }
    }

    /// Creates a tensor of the given shape holding `values` (row-major).
    public convenience init(shape: [Int], values: [Float]) {
        self.init(uninitialized: shape)
        precondition(values.count == count, "\(values.count) values for shape \(shape)")
        values.withUnsafeBufferPointer { pointer.update(from: $0.baseAddress!, count: count) }
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }

    /// The elements as a mutable buffer.
    @inlinable public var buffer: UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(start: pointer, count: count)
    }

    /// A copy of the elements as an array (for tests and serialisation, not hot paths).
    public var values: [Float] { Array(buffer) }

    /// Sets every element to zero.
    public func zero() {
        let start = pointer
        Parallel.forEachRange(max(count, 1), minimumChunk: Self.chunkPerThread) { range in
            (start + range.lowerBound).update(repeating: 0, count: range.count)
        }
    }

    /// The fewest elements worth handing a thread when zeroing or copying a whole tensor (a
    /// training step zeroes and copies megabytes of gradients; on one thread the others wait).
    static let chunkPerThread = 1 << 16

    /// Element access by flat row-major index (for tests and setup, not hot paths).
    public subscript(index: Int) -> Float {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }
}
