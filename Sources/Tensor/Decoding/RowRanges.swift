/// The rows of a `DecoderMatrix` that one product computes: `first`, or that range in each of
/// several equal blocks of rows (a team member's q, k and v rows of its heads, one block per
/// projection). A plain value rather than a generic sequence: a caller in another module would
/// otherwise have every product look up generic metadata at run time.
public struct RowRanges: Sendable, Equatable {
    /// The rows in the first block.
    public var first: Range<Int>
    /// How many blocks there are.
    public var blocks: Int
    /// Rows from one block's start to the next's.
    public var blockStride: Int

    /// The rows `first`, repeated `blocks` times, each `blockStride` rows after the one before.
    public init(_ first: Range<Int>, repeated blocks: Int = 1, every blockStride: Int = 0) {
        self.first = first
        self.blocks = blocks
        self.blockStride = blockStride
    }

    /// The rows in block `block` (0 ..< `blocks`).
    @inline(__always) public subscript(block: Int) -> Range<Int> {
        (first.lowerBound + block * blockStride)..<(first.upperBound + block * blockStride)
    }
}
