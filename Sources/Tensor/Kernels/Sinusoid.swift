#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Transformer-XL's sinusoid position embedding (spec, "Forward pass" step 2): for a distance
/// p, `[sin(p f_0) … sin(p f_{D/2-1}), cos(p f_0) … cos(p f_{D/2-1})]` with
/// `f_k = 10000^(-2k/D)`: all sines first, then all cosines. It has no parameters, so no
/// backward.
public enum Sinusoid {
    /// Writes `count` rows of `width` (even) into `out`. Row index `p` holds distance p
    /// (ascending, the order `RelativeTerms.r` is read in) or, with `descending`, distance
    /// count - 1 - p (the reference's `pos_seq` K-1, …, 0). Distances above `clampLength`
    /// are clamped to it when `clampLength > 0` (the reference's `clamp_len`).
    ///
    /// The frequencies, the products p·f and the sines are rounded to float32 where the
    /// reference computes in float32, so the values agree with it to about 1 ulp.
    public static func forward(
        out: UnsafeMutablePointer<Float>, count: Int, width: Int,
        clampLength: Int = 0, descending: Bool = false
    ) {
        precondition(width % 2 == 0, "sinusoid width \(width) must be even")
        let half = width / 2
        for row in 0..<count {
            var distance = descending ? count - 1 - row : row
            if clampLength > 0 { distance = Swift.min(distance, clampLength) }
            let y = out + row * width
            for k in 0..<half {
                let frequency = Float(1 / pow(10_000, Double(2 * k) / Double(width)))
                let angle = Double(Float(distance) * frequency)
                y[k] = Float(sin(angle))
                y[half + k] = Float(cos(angle))
            }
        }
    }
}
