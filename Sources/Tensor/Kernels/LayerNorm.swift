/// Layer normalisation over the last dimension:
/// `out = (x - mean) · rstd · weight + bias`, with `rstd = 1 / sqrt(var + eps)` and the
/// biased variance (divide by `width`), as `torch.nn.LayerNorm`.
public enum LayerNorm {
    /// Normalises each of `rows` rows of `width` values.
    /// - Parameters:
    ///   - out: [rows, width] (not aliasing `input`: backward reads the input).
    ///   - mean, rstd: [rows], saved for `backward`.
    ///   - weight, bias: [width].
    ///   - eps: added to the variance (1e-5 in both reference models).
    public static func forward(
        out: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>, rstd: UnsafeMutablePointer<Float>,
        input: UnsafePointer<Float>,
        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
        rows: Int, width: Int, eps: Float = 1e-5
    ) {
        Parallel.forEachRange(rows, minimumChunk: Swift.max(1, 8192 / Swift.max(1, width))) { range in
            for r in range {
                let x = input + r * width
                let y = out + r * width
                let m = vectorSum(x, width) / Float(width)
                // Two-pass variance: exact enough when the mean is large against the spread.
                var acc = Vector()
                var i = 0
                let mv = Vector(repeating: m)
                while i + vectorWidth <= width {
                    let d = loadVector(x + i) - mv
                    acc.addProduct(d, d)
                    i += vectorWidth
                }
                var v = acc.sum()
                while i < width { let d = x[i] - m; v += d * d; i += 1 }
                let s = 1 / (v / Float(width) + eps).squareRoot()
                mean[r] = m
                rstd[r] = s
                for c in 0..<width { y[c] = (x[c] - m) * s * weight[c] + bias[c] }
            }
        }
    }

    /// Adds the gradients into `dInput` [rows, width] (`write` `.overwrite`: stores them
    /// there), `dWeight` and `dBias` [width], from the forward's input and its saved `mean`
    /// and `rstd`.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>,
        dWeight: UnsafeMutablePointer<Float>, dBias: UnsafeMutablePointer<Float>,
        dOut: UnsafePointer<Float>,
        input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
        mean: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
        rows: Int, width: Int, write: GradientWrite = .add
    ) {
        let n = Float(width)
        // dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)), with g = dOut · weight, per row.
        Parallel.forEachRange(rows, minimumChunk: Swift.max(1, 8192 / Swift.max(1, width))) { range in
            for r in range {
                let x = input + r * width, dy = dOut + r * width, dx = dInput + r * width
                let m = mean[r], s = rstd[r]
                var gSum: Float = 0, gxSum: Float = 0
                for c in 0..<width {
                    let g = dy[c] * weight[c]
                    gSum += g
                    gxSum += g * (x[c] - m) * s
                }
                let gMean = gSum / n, gxMean = gxSum / n
                for c in 0..<width {
                    let xhat = (x[c] - m) * s
                    let g = (dy[c] * weight[c] - gMean - xhat * gxMean) * s
                    dx[c] = write == .add ? dx[c] + g : g
                }
            }
        }
        // dWeight and dBias sum over rows: split the columns, each summed in row order.
        Parallel.forEachRange(width, minimumChunk: rows * width < 1 << 16 ? width : 64) { columns in
            for r in 0..<rows {
                let x = input + r * width, dy = dOut + r * width
                let m = mean[r], s = rstd[r]
                for c in columns {
                    dWeight[c] += dy[c] * (x[c] - m) * s
                    dBias[c] += dy[c]
                }
            }
        }
    }
}
