/// The residual connection: `out = a + b`, elementwise (any shape, `count` elements).
public enum Residual {
    /// `out[i] = a[i] + b[i]`. `out` may alias `a` or `b`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, a: UnsafePointer<Float>,
        b: UnsafePointer<Float>, count: Int
    ) {
        Parallel.forEachRange(count, minimumChunk: 1 << 15) { range in
            for i in range { out[i] = a[i] + b[i] }
        }
    }

    /// `dA += dOut` and `dB += dOut` (either may be nil).
    public static func backward(
        dA: UnsafeMutablePointer<Float>?, dB: UnsafeMutablePointer<Float>?,
        dOut: UnsafePointer<Float>, count: Int
    ) {
        Parallel.forEachRange(count, minimumChunk: 1 << 15) { range in
            if let dA { for i in range { dA[i] += dOut[i] } }
            if let dB { for i in range { dB[i] += dOut[i] } }
        }
    }
}
