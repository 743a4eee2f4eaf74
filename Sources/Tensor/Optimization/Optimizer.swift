import TensorKernels
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One tensor the optimizer updates, with the gradient the backward pass wrote for it.
public struct OptimizedParameter {
    /// The parameter's values, updated in place by `Adam.update`.
    public let value: Tensor
    /// dLoss/dvalue, same shape; read (and, with `.l2` decay, not modified) by the update.
    public let gradient: Tensor
    /// Whether weight decay applies (the usual choice: weight matrices yes, biases, LayerNorm
    /// gains and embeddings' positional tables as the model decides).
    public var decays: Bool

    /// Pairs a parameter with its gradient. Their shapes must match.
    public init(value: Tensor, gradient: Tensor, decays: Bool = true) {
        precondition(
            value.shape == gradient.shape,
            "gradient shape \(gradient.shape) differs from parameter shape \(value.shape)")
        self.value = value
        self.gradient = gradient
        self.decays = decays
    }
}

/// Why an optimizer state could not be restored.
public enum OptimizerError: Error, CustomStringConvertible, Equatable {
    /// The saved state has a different number of moment tensors than the optimizer has parameters.
    case parameterCountMismatch(expected: Int, found: Int)
    /// The saved moment for parameter `index` has another shape.
    case shapeMismatch(index: Int, expected: [Int], found: [Int])
    /// The saved step count is negative.
    case invalidStep(Int)

    public var description: String {
        switch self {
        case .parameterCountMismatch(let expected, let found):
            return "optimizer state holds moments for \(found) parameters, the model has \(expected)"
        case .shapeMismatch(let index, let expected, let found):
            return "optimizer moment \(index) has shape \(found), its parameter has shape \(expected)"
        case .invalidStep(let step):
            return "optimizer step count \(step) is negative"
        }
    }
}

/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019), with the arithmetic of
/// PyTorch's `torch.optim.Adam` / `AdamW` (single-tensor path), so that a step here and there
/// agree to float32 rounding:
///
///     t += 1
///     AdamW:  p -= lr * weightDecay * p                (decoupled, before the moments)
///     Adam:   g += weightDecay * p                      (L2, coupled through the moments)
///     m = beta1 * m + (1 - beta1) * g
///     v = beta2 * v + (1 - beta2) * g^2
///     p -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + epsilon)
///
/// State: `firstMoments` (m), `secondMoments` (v), one tensor per parameter, and `step` (t):
/// a checkpoint saves these and `restore` puts them back, after which updates continue exactly.
/// Deterministic: every element is updated independently with the same operations, so results
/// are bit-identical whatever the thread count.
public final class Adam {
    /// How weight decay enters the update.
    public enum WeightDecay: Equatable, Sendable {
        /// No decay.
        case none
        /// Classic Adam's L2 penalty: `weight * p` added to the gradient.
        case l2(Float)
        /// AdamW's decoupled decay: `p -= lr * weight * p`, outside the moments.
        case decoupled(Float)
    }

    /// The hyperparameters other than the learning rate (which each `update` is given, so that
    /// a schedule can drive it).
    public struct Configuration: Equatable, Sendable {
        /// Decay rate of the first moment (mean of gradients).
        public var beta1: Float
        /// Decay rate of the second moment (mean of squared gradients).
        public var beta2: Float
        /// Added to sqrt(v) to keep the step finite.
        public var epsilon: Float
        /// Weight decay, applied only to parameters with `decays == true`.
        public var weightDecay: WeightDecay

        /// Creates a configuration.
        public init(
            beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
            weightDecay: WeightDecay = .none
        ) {
            self.beta1 = beta1; self.beta2 = beta2; self.epsilon = epsilon
            self.weightDecay = weightDecay
        }

        /// Adam without weight decay (Transformer-XL's reference training).
        public static let adam = Configuration()

        /// AdamW with decoupled weight decay; GPT-2's recipe is `adamW(beta2: 0.95, weightDecay: 0.1)`.
        public static func adamW(
            beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
            weightDecay: Float = 0.01
        ) -> Configuration {
            Configuration(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: .decoupled(weightDecay))
        }
    }

    /// The parameters in the order their moments are stored.
    public let parameters: [OptimizedParameter]
    /// The hyperparameters.
    public var configuration: Configuration
    /// m, one tensor per parameter, same shapes.
    public let firstMoments: [Tensor]
    /// v, one tensor per parameter, same shapes.
    public let secondMoments: [Tensor]
    /// Updates taken so far (t); the next `update` is step `step + 1`.
    public private(set) var step = 0

    /// Creates an optimizer with zero moments.
    public init(parameters: [OptimizedParameter], configuration: Configuration = .adam) {
        self.parameters = parameters
        self.configuration = configuration
        firstMoments = parameters.map { Tensor(zeros: $0.value.shape) }
        secondMoments = parameters.map { Tensor(zeros: $0.value.shape) }
    }

    /// Creates an optimizer over (parameter, gradient) pairs, all decayed.
    public convenience init(
        pairs: [(parameter: Tensor, gradient: Tensor)],
        configuration: Configuration = .adam
    ) {
        self.init(
            parameters: pairs.map { OptimizedParameter(value: $0.parameter, gradient: $0.gradient) },
            configuration: configuration)
    }

    /// Takes one step with learning rate `learningRate` (per unit of the normalized gradient).
    public func update(learningRate: Float) {
        step += 1
        // Bias corrections in float64, then rounded once, as PyTorch computes them on the host.
        let t = Double(step)
        let correction1 = 1 - pow(Double(configuration.beta1), t)
        let correction2 = 1 - pow(Double(configuration.beta2), t)
        let coefficients = Coefficients(
            stepSize: Float(Double(learningRate) / correction1),
            inverseRootCorrection2: Float(1 / correction2.squareRoot()),
            beta1: configuration.beta1, beta2: configuration.beta2, epsilon: configuration.epsilon,
            decoupledDecay: 0, l2Decay: 0)
        for (index, parameter) in parameters.enumerated() {
            var perTensor = coefficients
            if parameter.decays {
                switch configuration.weightDecay {
                case .none: break
                case .l2(let weight): perTensor.l2Decay = weight
                case .decoupled(let weight): perTensor.decoupledDecay = 1 - learningRate * weight
                }
            }
            Self.update(
                parameter.value.pointer, gradient: parameter.gradient.pointer,
                m: firstMoments[index].pointer, v: secondMoments[index].pointer,
                count: parameter.value.count, perTensor)
        }
    }

    /// Puts back a saved state: the step count and copies of the saved moments.
    public func restore(step: Int, firstMoments savedM: [Tensor], secondMoments savedV: [Tensor]) throws {
        guard step >= 0 else { throw OptimizerError.invalidStep(step) }
        for saved in [savedM, savedV] where saved.count != parameters.count {
            throw OptimizerError.parameterCountMismatch(expected: parameters.count, found: saved.count)
        }
        for (index, parameter) in parameters.enumerated() {
            for saved in [savedM[index], savedV[index]] where saved.shape != parameter.value.shape {
                throw OptimizerError.shapeMismatch(
                    index: index, expected: parameter.value.shape,
                    found: saved.shape)
            }
        }
        for index in parameters.indices {
            firstMoments[index].pointer.update(from: savedM[index].pointer, count: savedM[index].count)
            secondMoments[index].pointer.update(from: savedV[index].pointer, count: savedV[index].count)
        }
        self.step = step
    }

    private struct Coefficients {
        var stepSize: Float, inverseRootCorrection2: Float
        var beta1: Float, beta2: Float, epsilon: Float
        /// Factor p is multiplied by before the step (1 - lr * decay), or 0 for none.
        var decoupledDecay: Float
        var l2Decay: Float
    }

    /// The element-wise update of one tensor, split over threads by element ranges
    /// (`cadenza_adam`, C: its loop compiles to vector square roots and divisions, which
    /// Swift's `SIMD16<Float>.squareRoot()` does lane by lane; every element is rounded as the
    /// scalar formula rounds it, so the bits do not depend on the split).
    private static func update(
        _ p: UnsafeMutablePointer<Float>, gradient g: UnsafeMutablePointer<Float>,
        m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
        count: Int, _ k: Coefficients
    ) {
        Parallel.forEachRange(count, minimumChunk: 1 << 15) { range in
            let i = range.lowerBound
            cadenza_adam(
                p + i, g + i, m + i, v + i, range.count, k.stepSize, k.inverseRootCorrection2, k.beta1, k.beta2,
                k.epsilon, k.decoupledDecay, k.l2Decay)
        }
    }
}
