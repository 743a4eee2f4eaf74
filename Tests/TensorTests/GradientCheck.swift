import Testing
@testable import Tensor

/// Finite-difference gradient checking shared by the kernel tests.
///
/// Each test builds a scalar loss `L = Σ out[i] · probe[i]` (a fixed random `probe`, summed in
/// Double) so that every output element contributes, runs the kernel's backward with
/// `dOut = probe`, and compares each analytic gradient with the central difference
/// `(L(x + h) - L(x - h)) / (2h)` of the float32 forward. Tolerance (float32 forward, h = 1e-2):
/// |numeric - analytic| ≤ 2e-3 + 1e-2 · |analytic|, documented in docs/tensor-kernels.md.
struct GradientCheck {
    var generator: SeededGenerator

    init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// A tensor of N(0, scale²) values.
    mutating func random(_ shape: [Int], scale: Float = 1) -> Tensor {
        let t = Tensor(zeros: shape)
        for i in 0..<t.count { t[i] = generator.nextNormal() * scale }
        return t
    }

    /// A random size in `range`.
    mutating func size(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }

    /// Σ out · probe in Double.
    static func weightedSum(_ out: Tensor, _ probe: Tensor) -> Double {
        var s = 0.0
        for i in 0..<out.count { s += Double(out[i]) * Double(probe[i]) }
        return s
    }

    /// Compares `analytic` (the gradient of `loss` with respect to `parameter`) with central
    /// differences at up to `samples` indices; records a failure naming `name` and the worst
    /// index. Returns the largest absolute difference.
    @discardableResult
    mutating func expectGradient(
        _ name: String, of parameter: Tensor, analytic: Tensor,
        samples: Int = 48, step: Float = 1e-2,
        absolute: Double = 2e-3, relative: Double = 1e-2,
        sourceLocation: SourceLocation = #_sourceLocation,
        loss: () -> Double
    ) -> Double {
        var indices = Array(0..<parameter.count)
        if indices.count > samples {
            indices.shuffle(using: &generator)
            indices = Array(indices.prefix(samples))
        }
        var worst = 0.0
        var worstIndex = -1
        var failures = 0
        for i in indices {
            let x = parameter[i]
            parameter[i] = x + step
            let plus = loss()
            let hPlus = Double(parameter[i])
            parameter[i] = x - step
            let minus = loss()
            let hMinus = Double(parameter[i])
            parameter[i] = x
            let numeric = (plus - minus) / (hPlus - hMinus)
            let a = Double(analytic[i])
            let diff = abs(numeric - a)
            if diff > absolute + relative * abs(a) { failures += 1 }
            if diff > worst { worst = diff; worstIndex = i }
        }
        #expect(
            failures == 0,
            "\(name): \(failures) of \(indices.count) gradients off; worst |Δ| \(worst) at \(worstIndex)",
            sourceLocation: sourceLocation)
        return worst
    }
}

extension Tensor {
    /// The mutable pointer as a read-only one, for kernel inputs.
    var const: UnsafePointer<Float> { UnsafePointer(pointer) }
}
