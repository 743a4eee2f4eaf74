#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The learning rate as a function of the update number: an optional linear warm-up to
/// `peak`, then either constant or a cosine decay to `floor` (0 by default) at `totalSteps`.
///
/// Steps are counted from 1 (the first update is step 1, as `Adam.step` after it):
/// - warm-up, `t <= warmupSteps`: `peak * t / warmupSteps`, so step 1 already moves;
/// - cosine, `warmupSteps < t <= totalSteps`:
///   `floor + (peak - floor) * (1 + cos(pi * (t - warmupSteps) / (totalSteps - warmupSteps))) / 2`,
///   continuous at the end of warm-up and exactly `floor` at `totalSteps` (and after);
/// - constant: `peak` after warm-up.
/// (Transformer-XL's reference runs its cosine over all steps, warm-up included; starting the
/// cosine at the end of warm-up avoids the jump that makes and differs from it by at most
/// `warmupSteps / totalSteps` of the schedule.)
public struct LearningRateSchedule: Equatable, Sendable, Codable {
    /// What follows the warm-up.
    public enum Decay: Equatable, Sendable, Codable {
        /// Stay at the peak.
        case constant
        /// Cosine from the peak down to `floor` at update `totalSteps`.
        case cosine(totalSteps: Int, floor: Float)
    }

    /// The rate reached at the end of warm-up (per unit of the normalized gradient).
    public var peak: Float
    /// Updates spent ramping up linearly from 0 (0: none).
    public var warmupSteps: Int
    /// What follows the warm-up.
    public var decay: Decay

    /// Creates a schedule.
    public init(peak: Float, warmupSteps: Int = 0, decay: Decay = .constant) {
        self.peak = peak
        self.warmupSteps = max(0, warmupSteps)
        self.decay = decay
    }

    /// A constant rate.
    public static func constant(_ rate: Float) -> LearningRateSchedule {
        LearningRateSchedule(peak: rate)
    }

    /// Linear warm-up then cosine decay to `floor` (0 by default) at `totalSteps`.
    public static func warmupCosine(
        peak: Float, warmupSteps: Int, totalSteps: Int,
        floor: Float = 0
    ) -> LearningRateSchedule {
        LearningRateSchedule(
            peak: peak, warmupSteps: warmupSteps,
            decay: .cosine(totalSteps: totalSteps, floor: floor))
    }

    /// The rate for update `step` (1-based).
    public func rate(atStep step: Int) -> Float {
        let t = max(1, step)
        if t <= warmupSteps {
            return Float(Double(peak) * Double(t) / Double(warmupSteps))
        }
        switch decay {
        case .constant:
            return peak
        case .cosine(let totalSteps, let floor):
            let span = totalSteps - warmupSteps
            guard span > 0, t < totalSteps else { return t >= totalSteps ? floor : peak }
            let progress = Double(t - warmupSteps) / Double(span)
            return Float(Double(floor) + Double(peak - floor) * (1 + cos(Double.pi * progress)) / 2)
        }
    }
}
