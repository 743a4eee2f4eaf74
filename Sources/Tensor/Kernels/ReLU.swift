/// The rectifier `relu(x) = max(0, x)` (Transformer-XL's feed-forward).
public enum ReLU {
    /// `out[i] = max(0, input[i])`; `out` may alias `input`.
    public static func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        Parallel.forEachRange(count, minimumChunk: 1 << 15) { range in
            for i in range { out[i] = Swift.max(0, input[i]) }
        }
    }

    /// `dInput[i] += dOut[i]` where the forward's `output[i] > 0` (the same as input > 0, so
    /// the forward may run in place); with `write` `.overwrite`, `dInput[i] =` that or 0.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
        output: UnsafePointer<Float>, count: Int, write: GradientWrite = .add
    ) {
        Parallel.forEachRange(count, minimumChunk: 1 << 15) { range in
            switch write {
            case .add: for i in range where output[i] > 0 { dInput[i] += dOut[i] }
            case .overwrite: for i in range { dInput[i] = output[i] > 0 ? dOut[i] : 0 }
            }
        }
    }
}
