#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Log-softmax fused with the cross-entropy loss, averaged over the targets that count:
/// `logp[r] = logits[r] - logsumexp(logits[r])`, `loss = mean_r(-logp[r, target[r]])` over
/// rows whose target is not `ignoreIndex`.
public enum CrossEntropy {
    /// Writes `logProbabilities` [rows, classes] (may be the `logits` buffer itself: the
    /// backward needs only the log-probabilities) and the per-row losses `losses` [rows]
    /// (0 at ignored rows), and returns the mean loss over counted rows (0 when none count).
    /// Targets must lie in `0..<classes` unless equal to `ignoreIndex`.
    @discardableResult
    public static func forward(
        logProbabilities: UnsafeMutablePointer<Float>,
        losses: UnsafeMutablePointer<Float>,
        logits: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>,
        rows: Int, classes: Int, ignoreIndex: Int32? = nil
    ) -> Float {
        logSoftmax(out: logProbabilities, logits: logits, rows: rows, classes: classes)
        Parallel.forEachRange(rows, minimumChunk: Swift.max(1, 65_536 / Swift.max(1, classes))) { range in
            for r in range {
                let y = logProbabilities + r * classes
                let t = targets[r]
                if t == ignoreIndex {
                    losses[r] = 0
                } else {
                    precondition(t >= 0 && Int(t) < classes, "target \(t) at row \(r) outside 0..<\(classes)")
                    losses[r] = -y[Int(t)]
                }
            }
        }
        // The mean sums in row order, in Double, on one thread.
        var sum = 0.0
        var counted = 0
        for r in 0..<rows where targets[r] != ignoreIndex {
            sum += Double(losses[r])
            counted += 1
        }
        return counted == 0 ? 0 : Float(sum / Double(counted))
    }

    /// `out[r] = logits[r] - logsumexp(logits[r])` for each of `rows` rows (`out` may be
    /// `logits`): the log-probabilities alone, for evaluation and sampling.
    public static func logSoftmax(
        out: UnsafeMutablePointer<Float>, logits: UnsafePointer<Float>,
        rows: Int, classes: Int
    ) {
        Parallel.forEachRange(rows, minimumChunk: Swift.max(1, 16_384 / Swift.max(1, classes))) { range in
            for r in range {
                let x = logits + r * classes, y = out + r * classes
                let top = vectorMax(x, classes)
                // Σ exp(x - max) in the vector-then-tail order of `vectorSum`.
                var acc = Vector()
                var c = 0
                let topV = Vector(repeating: top)
                while c + vectorWidth <= classes { acc += vectorExp(loadVector(x + c) - topV); c += vectorWidth }
                var total = acc.sum()
                while c < classes { total += scalarExp(x[c] - top); c += 1 }
                let logTotal = top + logf(total)
                for c in 0..<classes { y[c] = x[c] - logTotal }
            }
        }
    }

    /// Adds `dLoss · (softmax - onehot(target)) / counted` into `dLogits` [rows, classes]
    /// for counted rows (ignored rows get nothing). `dLogits` must not alias
    /// `logProbabilities`: gradients are added, as in every backward here.
    public static func backward(
        dLogits: UnsafeMutablePointer<Float>,
        logProbabilities: UnsafePointer<Float>,
        targets: UnsafePointer<Int32>,
        rows: Int, classes: Int, ignoreIndex: Int32? = nil, dLoss: Float = 1
    ) {
        var counted = 0
        for r in 0..<rows where targets[r] != ignoreIndex { counted += 1 }
        guard counted > 0 else { return }
        let weight = dLoss / Float(counted)
        Parallel.forEachRange(rows, minimumChunk: Swift.max(1, 16_384 / Swift.max(1, classes))) { range in
            for r in range where targets[r] != ignoreIndex {
                let y = logProbabilities + r * classes, g = dLogits + r * classes
                var c = 0
                let w = Vector(repeating: weight)
                while c + vectorWidth <= classes {
                    storeVector(loadVector(g + c) + vectorExp(loadVector(y + c)) * w, g + c)
                    c += vectorWidth
                }
                while c < classes { g[c] += scalarExp(y[c]) * weight; c += 1 }
                g[Int(targets[r])] -= weight
            }
        }
    }
}
