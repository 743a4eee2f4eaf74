import Tensor
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a sampler could not be made or could not draw.
public enum SamplerError: Error, Equatable, CustomStringConvertible {
    /// Temperature must be a finite number >= 0.
    case invalidTemperature(Float)
    /// top-k must be >= 0 (0 turns it off).
    case invalidTopK(Int)
    /// top-p must be in (0, 1].
    case invalidTopP(Float)
    /// A logit was NaN or +infinity at this vocabulary index (the model output is broken).
    case invalidLogit(index: Int)
    /// The mask and the logits have different lengths.
    case maskLengthMismatch(logits: Int, mask: Int)
    /// Every token was masked out or had probability zero.
    case noAllowedToken

    public var description: String {
        switch self {
        case .invalidTemperature(let t):
            return "temperature must be a number >= 0 (0 = always the most likely token), got \(t)"
        case .invalidTopK(let k): return "top-k must be >= 0 (0 = off), got \(k)"
        case .invalidTopP(let p): return "top-p must be in (0, 1] (1 = off), got \(p)"
        case .invalidLogit(let i): return "the model produced a NaN or +infinity logit at token \(i)"
        case .maskLengthMismatch(let l, let m): return "the mask has \(m) entries but there are \(l) logits"
        case .noAllowedToken: return "no token may be drawn: every token is masked out or has probability zero"
        }
    }
}

/// Draws the next token from a model's logits with temperature, top-k and top-p (nucleus)
/// sampling, through a `SeededGenerator` so the same seed gives the same piece.
///
/// Order of operations, as in common practice (Holtzman et al. 2020, "The Curious Case of
/// Neural Text Degeneration", for top-p; Fan et al. 2018 for top-k): mask, divide the logits by
/// the temperature, softmax, keep the k most likely, keep the smallest set of the most likely
/// whose probability reaches p, renormalise, draw.
public struct Sampler: Sendable, Equatable {
    /// Softmax temperature; below 1 sharpens, above 1 flattens; 0 means greedy (argmax).
    public let temperature: Float
    /// Keep only the k most likely tokens; 0 keeps all.
    public let topK: Int
    /// Keep the smallest set of most likely tokens whose total probability is at least p;
    /// 1 keeps all.
    public let topP: Float

    /// The temperature and top-p `cadenza generate` uses unless told otherwise: of the
    /// settings measured on the bundled model, the pieces closest to real music by the
    /// musical metrics (docs/generation.md, "Sampling defaults"). A model of one's own may
    /// prefer others; `init()`'s plain softmax (1, off) is the model's own distribution.
    public static let recommendedTemperature: Float = 1.2, recommendedTopP: Float = 0.9

    /// Creates a sampler, checking each setting.
    public init(temperature: Float = 1, topK: Int = 0, topP: Float = 1) throws {
        guard temperature.isFinite, temperature >= 0 else { throw SamplerError.invalidTemperature(temperature) }
        guard topK >= 0 else { throw SamplerError.invalidTopK(topK) }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw SamplerError.invalidTopP(topP) }
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }

    /// The distribution the sampler draws from: one probability per token, zero for tokens
    /// removed by the mask, top-k or top-p, summing to 1. `mask[i] == false` forbids token i
    /// (the grammar constraint passes its mask here). Logits may be -infinity (forbidden).
    public func distribution(logits: [Float], mask: [Bool]? = nil) throws -> [Double] {
        if let mask, mask.count != logits.count {
            throw SamplerError.maskLengthMismatch(logits: logits.count, mask: mask.count)
        }
        var allowed: [Int] = []
        allowed.reserveCapacity(logits.count)
        for (i, l) in logits.enumerated() {
            if l.isNaN || l == .infinity { throw SamplerError.invalidLogit(index: i) }
            if l != -.infinity && (mask?[i] ?? true) { allowed.append(i) }
        }
        guard !allowed.isEmpty else { throw SamplerError.noAllowedToken }
        var probabilities = [Double](repeating: 0, count: logits.count)
        if temperature > 0, topK == 0, topP == 1 {
            // Plain sampling needs no ranking: the softmax in vocabulary order, no sort (the
            // sort of 368 ids cost more than the rest of the sampler together).
            let maximum = Double(allowed.reduce(-Float.infinity) { max($0, logits[$1]) })
            var total = 0.0
            for i in allowed {
                probabilities[i] = exp((Double(logits[i]) - maximum) / Double(temperature))
                total += probabilities[i]
            }
            for i in allowed { probabilities[i] /= total }
            return probabilities
        }
        // Most likely first; equal logits keep vocabulary order, so the result is deterministic.
        allowed.sort { logits[$0] != logits[$1] ? logits[$0] > logits[$1] : $0 < $1 }
        if temperature == 0 {
            probabilities[allowed[0]] = 1
            return probabilities
        }
        // Softmax over the allowed tokens, shifted by the maximum for stability, in Double.
        let maximum = Double(logits[allowed[0]])
        var weights = allowed.map { exp((Double(logits[$0]) - maximum) / Double(temperature)) }
        var keep = topK > 0 ? min(topK, weights.count) : weights.count
        if topP < 1 {
            let total = weights[..<keep].reduce(0, +)
            var cumulative = 0.0
            for k in 0..<keep {
                cumulative += weights[k]
                // Relative tolerance of about ten float32 roundings, so that a nucleus whose
                // probabilities sum to exactly p is not missed because the logits are float32.
                if cumulative >= Double(topP) * total * (1 - 1e-6) { keep = k + 1; break }
            }
        }
        weights.removeSubrange(keep...)
        let total = weights.reduce(0, +)
        for (k, w) in weights.enumerated() { probabilities[allowed[k]] = w / total }
        return probabilities
    }

    /// Draws one token index from `distribution(logits:mask:)`, consuming exactly one value
    /// of `generator` (none when the temperature is 0).
    public func sample(logits: [Float], mask: [Bool]? = nil, using generator: inout SeededGenerator) throws -> Int {
        let probabilities = try distribution(logits: logits, mask: mask)
        if temperature == 0 { return probabilities.firstIndex(of: 1) ?? 0 }
        // A uniform in [0, 1) from 53 random bits; walk the cumulative distribution in
        // vocabulary order.
        let u = Double(generator.next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        var cumulative = 0.0
        var last = 0
        for (i, p) in probabilities.enumerated() where p > 0 {
            cumulative += p
            last = i
            if u < cumulative { return i }
        }
        return last  // u fell past the sum by rounding: the last allowed token
    }
}
