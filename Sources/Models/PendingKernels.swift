import Tensor

// TEMPORARY: stand-ins for kernels the Tensor layer has not published yet (ReLU, dropout,
// fused log-softmax cross-entropy). Each is replaced by the Tensor kernel of the same job as
// soon as it lands on main; nothing else in Models depends on how these are written.

enum PendingReLU {
    static func forward(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = max(input[i], 0) }
    }

    static func backward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                         input: UnsafePointer<Float>, count: Int) {
        for i in 0..<count where input[i] > 0 { dInput[i] += dOut[i] }
    }
}

enum PendingDropout {
    /// A mask of 0 (probability p) or 1/(1-p), drawn from `generator`.
    static func mask(count: Int, probability p: Float, generator: inout SeededGenerator) -> Tensor {
        let mask = Tensor(zeros: [count])
        let keep = 1 / (1 - p)
        for i in 0..<count { mask[i] = generator.nextUniform() < p ? 0 : keep }
        return mask
    }

    static func apply(out: UnsafeMutablePointer<Float>, input: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { out[i] = input[i] * mask[i] }
    }

    static func backward(dInput: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>, mask: UnsafePointer<Float>, count: Int) {
        for i in 0..<count { dInput[i] += dOut[i] * mask[i] }
    }
}

enum PendingCrossEntropy {
    /// Replaces each row of `logits` [rows, classes] by its log-softmax; returns the mean of
    /// -logp[target] over the rows (0 when `targets` is nil).
    static func forward(logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>?, rows: Int, classes: Int) -> Float {
        var total: Double = 0
        for r in 0..<rows {
            let row = logits + r * classes
            var maximum = -Float.infinity
            for c in 0..<classes { maximum = max(maximum, row[c]) }
            var sum: Float = 0
            for c in 0..<classes { sum += expf(row[c] - maximum) }
            let logSum = maximum + logf(sum)
            for c in 0..<classes { row[c] -= logSum }
            if let targets { total -= Double(row[Int(targets[r])]) }
        }
        return targets == nil ? 0 : Float(total / Double(rows))
    }

    /// dLogits = (softmax - onehot(target)) * scale, from the saved log-probabilities (overwrites).
    static func backward(dLogits: UnsafeMutablePointer<Float>, logProbabilities: UnsafePointer<Float>,
                         targets: UnsafePointer<Int32>, rows: Int, classes: Int, scale: Float) {
        for r in 0..<rows {
            for c in 0..<classes { dLogits[r * classes + c] = expf(logProbabilities[r * classes + c]) * scale }
            dLogits[r * classes + Int(targets[r])] -= scale
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
