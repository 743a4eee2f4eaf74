import Tensor

/// Draws the initial values of parameters (spec, "Init"), always through a `SeededGenerator`.
struct Initializer {
    var generator: SeededGenerator

    /// A tensor of `shape` with entries `mean + standardDeviation * N(0, 1)`.
    mutating func normal(_ shape: [Int], mean: Float = 0, standardDeviation: Float = 0.02) -> Tensor {
        let t = Tensor(zeros: shape)
        for i in 0..<t.count { t[i] = mean + standardDeviation * generator.nextNormal() }
        return t
    }

    /// A tensor of `shape` filled with `value`.
    func constant(_ shape: [Int], _ value: Float = 0) -> Tensor {
        let t = Tensor(zeros: shape)
        if value != 0 { t.buffer.update(repeating: value) }
        return t
    }
}
