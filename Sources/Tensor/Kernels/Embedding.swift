/// Embedding lookup: `out[n] = table[tokens[n]] · scale` (Transformer-XL scales its input
/// embedding by √d_model; GPT-2 uses scale 1 for both token and position tables).
public enum Embedding {
    /// Gathers `count` rows of `width` from `table` [vocabulary, width].
    /// Token ids must lie in `0..<vocabulary` (callers validate user input first).
    public static func forward(
        out: UnsafeMutablePointer<Float>,
        tokens: UnsafePointer<Int32>,
        table: UnsafePointer<Float>,
        count: Int, width: Int, vocabulary: Int, scale: Float = 1
    ) {
        for n in 0..<count {
            let t = Int(tokens[n])
            precondition(t >= 0 && t < vocabulary, "token \(t) at \(n) outside 0..<\(vocabulary)")
            let src = table + t * width, dst = out + n * width
            if scale == 1 {
                dst.update(from: src, count: width)
            } else {
                for c in 0..<width { dst[c] = src[c] * scale }
            }
        }
    }

    /// Scatters the gradient: `dTable[tokens[n]] += dOut[n] · scale`. A token that occurs
    /// several times accumulates in position order (threads split the columns, so the order
    /// is the same for any thread count).
    public static func backward(
        dTable: UnsafeMutablePointer<Float>,
        dOut: UnsafePointer<Float>,
        tokens: UnsafePointer<Int32>,
        count: Int, width: Int, scale: Float = 1
    ) {
        Parallel.forEachRange(width, minimumChunk: count * width < 1 << 16 ? width : 32) { columns in
            for n in 0..<count {
                let dst = dTable + Int(tokens[n]) * width, src = dOut + n * width
                for c in columns { dst[c] += src[c] * scale }
            }
        }
    }
}
