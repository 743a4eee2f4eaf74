/// A fully connected layer: `out = in · Wᵀ + b` (PyTorch `nn.Linear`, weight [out, in]) or
/// `out = in · W + b` (Hugging Face GPT-2 `Conv1D`, weight [in, out]). All the work is in
/// `GEMM.multiply`.
///
/// Conventions shared by every kernel in this module: pointers are raw float32, row-major;
/// a forward *overwrites* its outputs; a backward *adds into* its gradient buffers (so
/// gradients of a tensor used twice, like a residual stream or tied weights, just accumulate;
/// zero them once per step).
public enum Linear {
    /// How the weight matrix is stored.
    public enum WeightLayout: Sendable {
        /// [outFeatures, inFeatures], as `torch.nn.Linear.weight`.
        case outByIn
        /// [inFeatures, outFeatures], as Hugging Face's `Conv1D.weight` (GPT-2).
        case inByOut
    }

    /// `out[rows, outFeatures] = input[rows, inFeatures] · W + bias`, or `max(0, ·)` of it where
    /// `rectified` (a ReLU, applied as the product stores its outputs).
    /// - Parameters:
    ///   - bias: [outFeatures], or nil for no bias.
    public static func forward(
        out: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, layout: WeightLayout = .outByIn,
        bias: UnsafePointer<Float>?,
        rows: Int, inFeatures: Int, outFeatures: Int, rectified: Bool = false
    ) {
        GEMM.multiply(
            m: rows, n: outFeatures, k: inFeatures,
            a: input, lda: inFeatures,
            b: weight, ldb: layout == .outByIn ? inFeatures : outFeatures,
            transposeB: layout == .outByIn,
            c: out, ldc: outFeatures, bias: bias, rectified: rectified)
    }

    /// Adds the gradients of `forward` into `dInput` [rows, inFeatures] (`inputWrite`
    /// `.overwrite`: stores it there), `dWeight` (same layout as the weight) and `dBias`
    /// [outFeatures]; pass nil for any that is not needed.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>?,
        dWeight: UnsafeMutablePointer<Float>?,
        dBias: UnsafeMutablePointer<Float>?,
        dOut: UnsafePointer<Float>,
        input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, layout: WeightLayout = .outByIn,
        rows: Int, inFeatures: Int, outFeatures: Int, inputWrite: GradientWrite = .add
    ) {
        if let dInput {
            // dIn[rows, in] += dOut[rows, out] · W[out, in]  (or · W[in, out]ᵀ)
            GEMM.multiply(
                m: rows, n: inFeatures, k: outFeatures,
                a: dOut, lda: outFeatures,
                b: weight, ldb: layout == .outByIn ? inFeatures : outFeatures,
                transposeB: layout == .inByOut,
                c: dInput, ldc: inFeatures, beta: inputWrite == .add ? 1 : 0)
        }
        if let dWeight {
            switch layout {
            case .outByIn:  // dW[out, in] += dOutᵀ · in
                // dBias (dOut's column sums) comes with it: the sums of op(A)'s rows.
                GEMM.multiply(
                    m: outFeatures, n: inFeatures, k: rows,
                    a: dOut, lda: outFeatures, transposeA: true,
                    b: input, ldb: inFeatures,
                    c: dWeight, ldc: inFeatures, beta: 1, sumsOfA: dBias)
            case .inByOut:  // dW[in, out] += inᵀ · dOut, and dBias: the sums of op(B)'s columns
                GEMM.multiply(
                    m: inFeatures, n: outFeatures, k: rows,
                    a: input, lda: inFeatures, transposeA: true,
                    b: dOut, ldb: outFeatures,
                    c: dWeight, ldc: outFeatures, beta: 1, sumsOfB: dBias)
            }
        } else if let dBias {
            LaneSums.add(lanes: outFeatures, depth: rows, x: dOut, ld: outFeatures, depthMajor: true, into: dBias)
        }
    }
}
