/// Softmax over the last dimension, `p_j = e^{s x_j} / Σ_j' e^{s x_j'}` with a scale `s`,
/// restricted to a window of visible entries (attention's causal mask); the row kernels here
/// are the ones `Attention` uses.
public enum Softmax {
    /// `out[r] = softmax(scale · input[r])` for `rows` rows of `width`; `out` may alias `input`.
    public static func forward(
        out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>,
        rows: Int, width: Int, scale: Float = 1
    ) {
        guard width > 0 else { return }
        Parallel.forEachRange(rows, minimumChunk: Swift.max(1, 16_384 / width)) { range in
            for r in range {
                if out != UnsafeMutablePointer(mutating: input) {
                    (out + r * width).update(from: input + r * width, count: width)
                }
                row(out + r * width, visible: 0..<width, keys: width, scale: scale)
            }
        }
    }

    /// `dInput[r] += scale · p ⊙ (dOut[r] - Σ p ⊙ dOut[r])` from the forward's output `p`.
    public static func backward(
        dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
        output: UnsafePointer<Float>, rows: Int, width: Int, scale: Float = 1
    ) {
        guard width > 0 else { return }
        Parallel.forEachRange(rows, minimumChunk: Swift.max(1, 16_384 / width)) { range in
            for r in range {
                let p = output + r * width, g = dOut + r * width, dx = dInput + r * width
                let dot = vectorDot(p, g, width)
                for j in 0..<width { dx[j] += p[j] * (g[j] - dot) * scale }
            }
        }
    }

    /// In place: `row[j] = softmax(scale · row[j])` over `visible`, 0 elsewhere in 0..<keys.
    /// Max, exponentials and sum run left to right over the visible range (vectorised `exp`).
    @inline(__always)
    static func row(_ row: UnsafeMutablePointer<Float>, visible: Range<Int>, keys: Int, scale: Float) {
        let first = visible.lowerBound, n = visible.count
        let x = row + first
        let shift = vectorMax(x, n) * scale
        var total = Vector()
        var j = 0
        let scaleV = Vector(repeating: scale), shiftV = Vector(repeating: shift)
        while j + vectorWidth <= n {
            let e = vectorExp(loadVector(x + j) * scaleV - shiftV)
            storeVector(e, x + j)
            total += e
            j += vectorWidth
        }
        var sum = total.sum()
        if j < n {
            // The last n mod 16 values through one vector exp (lane by lane, the values
            // `scalarExp` gives), added to the sum one by one in order.
            var tail = Vector()
            for l in 0..<(n - j) { tail[l] = x[j + l] }
            let e = vectorExp(tail * scaleV - shiftV)
            for l in 0..<(n - j) {
                x[j + l] = e[l]
                sum += e[l]
            }
        }
        let inverse = 1 / sum
        for j in 0..<n { x[j] *= inverse }
        if first > 0 { row.update(repeating: 0, count: first) }
        if visible.upperBound < keys {
            (row + visible.upperBound).update(repeating: 0, count: keys - visible.upperBound)
        }
    }

    /// In place: `dRow[j] = P[j] (dRow[j] - Σ_j' P[j'] dRow[j']) · scale` over `visible`, 0 elsewhere.
    @inline(__always)
    static func backwardRow(
        _ dRow: UnsafeMutablePointer<Float>, _ row: UnsafePointer<Float>,
        visible: Range<Int>, keys: Int, scale: Float
    ) {
        let first = visible.lowerBound, n = visible.count
        let g = dRow + first, p = row + first
        let dot = vectorDot(p, g, n)
        for j in 0..<n { g[j] = p[j] * (g[j] - dot) * scale }
        if first > 0 { dRow.update(repeating: 0, count: first) }
        if visible.upperBound < keys {
            (dRow + visible.upperBound).update(repeating: 0, count: keys - visible.upperBound)
        }
    }

}
