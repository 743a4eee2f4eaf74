#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Two sets of pieces side by side: per metric, each set's mean and spread and how much the two
/// distributions of per-piece values overlap.
///
/// The distance is the overlapping area (OA) of the two probability densities, each estimated
/// from the per-piece values with a Gaussian kernel density estimate (bandwidth by Silverman's
/// rule of thumb): OA = integral of min(p_A(x), p_B(x)) dx, 1 for identical distributions and
/// 0 for disjoint ones. This is the overlap measure of Yang & Lerch, "On the evaluation of
/// generative models in music" (Neural Computing and Applications 32, 2020; their mgeval
/// toolbox), applied here to the metric values themselves rather than to mgeval's intra-/
/// inter-set distance distributions: one number per metric that reads as "how alike".
/// For the two histograms (pitch classes, bar positions) the overlap is that of the two sets'
/// mean histograms, sum_i min(a_i, b_i).
public struct SetComparison: Sendable {
    /// Mean, standard deviation and count of the defined (non-NaN) values of one metric.
    public struct Summary: Sendable, Equatable {
        public var mean: Double, std: Double, count: Int
        /// Summarises `values`, skipping NaN.
        public init(_ values: [Double]) {
            let xs = values.filter { !$0.isNaN }
            (mean, std) = MusicalMetrics.meanAndStd(xs)
            count = xs.count
        }
    }

    /// One metric in both sets.
    public struct Row: Sendable {
        public var metric: Metric
        public var a: Summary, b: Summary
        /// Overlapping area of the two distributions, 0 ... 1 (NaN when a set has no value).
        public var overlap: Double
    }

    /// Every scalar metric, in `Metric` order.
    public let rows: [Row]
    /// Mean pitch-class histogram of each set, and their overlap.
    public let pitchClassesA: [Double], pitchClassesB: [Double], pitchClassOverlap: Double
    /// Mean bar-position histogram of each set, and their overlap.
    public let positionsA: [Double], positionsB: [Double], positionOverlap: Double

    /// Compares set `a` with set `b`.
    public init(a: [PieceMetrics], b: [PieceMetrics]) {
        rows = Metric.allCases.map { metric in
            let va = a.map { $0[metric] }, vb = b.map { $0[metric] }
            return Row(
                metric: metric, a: Summary(va), b: Summary(vb),
                overlap: DistributionOverlap.overlappingArea(va, vb))
        }
        func meanHistogram(_ set: [PieceMetrics], _ key: (PieceMetrics) -> [Double], bins: Int) -> [Double] {
            var sum = [Double](repeating: 0, count: bins)
            for piece in set { for (i, x) in key(piece).enumerated() where i < bins { sum[i] += x } }
            let total = sum.reduce(0, +)
            return sum.map { total > 0 ? $0 / total : 0 }
        }
        pitchClassesA = meanHistogram(a, \.pitchClassHistogram, bins: 12)
        pitchClassesB = meanHistogram(b, \.pitchClassHistogram, bins: 12)
        pitchClassOverlap = zip(pitchClassesA, pitchClassesB).reduce(0) { $0 + min($1.0, $1.1) }
        positionsA = meanHistogram(a, \.positionHistogram, bins: 16)
        positionsB = meanHistogram(b, \.positionHistogram, bins: 16)
        positionOverlap = zip(positionsA, positionsB).reduce(0) { $0 + min($1.0, $1.1) }
    }
}

/// Overlap of two one-dimensional distributions given by samples.
public enum DistributionOverlap {
    /// Silverman's rule-of-thumb bandwidth, 0.9 min(sd, IQR / 1.34) n^(-1/5); 0 when the
    /// values do not vary.
    static func bandwidth(_ xs: [Double]) -> Double {
        let n = Double(xs.count)
        let (_, sd) = MusicalMetrics.meanAndStd(xs)
        let sorted = xs.sorted()
        func quantile(_ q: Double) -> Double {
            let position = q * (n - 1)
            let low = Int(position.rounded(.down)), high = min(low + 1, xs.count - 1)
            return sorted[low] + (sorted[high] - sorted[low]) * (position - Double(low))
        }
        let iqr = quantile(0.75) - quantile(0.25)
        let spread = iqr > 0 ? min(sd.isNaN ? 0 : sd, iqr / 1.34) : (sd.isNaN ? 0 : sd)
        return 0.9 * spread * pow(n, -0.2)
    }

    /// Overlapping area of the Gaussian kernel density estimates of `a` and `b` (NaN values are
    /// skipped; NaN if either set is then empty). A set whose values do not vary gets the
    /// bandwidth of the other set, or a thousandth of the joint range, so that identical
    /// constant sets overlap fully and different constants not at all.
    public static func overlappingArea(_ a: [Double], _ b: [Double]) -> Double {
        let xa = a.filter { $0.isFinite }, xb = b.filter { $0.isFinite }
        guard !xa.isEmpty, !xb.isEmpty else { return .nan }
        let low = min(xa.min()!, xb.min()!), high = max(xa.max()!, xb.max()!)
        let floor = max((high - low) * 1e-3, 1e-9 * max(1, abs(high)))
        var ha = bandwidth(xa), hb = bandwidth(xb)
        if ha <= 0 { ha = hb > 0 ? hb : floor }
        if hb <= 0 { hb = ha > 0 ? ha : floor }
        ha = max(ha, floor); hb = max(hb, floor)
        // Integrate on a fine grid covering both densities to 5 bandwidths.
        let start = low - 5 * max(ha, hb), stop = high + 5 * max(ha, hb)
        let steps = 4_000
        let dx = (stop - start) / Double(steps)
        func density(_ x: Double, _ xs: [Double], _ h: Double) -> Double {
            var sum = 0.0
            for v in xs { let z = (x - v) / h; sum += exp(-0.5 * z * z) }
            return sum / (Double(xs.count) * h * (2 * Double.pi).squareRoot())
        }
        var area = 0.0
        for i in 0...steps {
            let x = start + Double(i) * dx
            let weight = (i == 0 || i == steps) ? 0.5 : 1
            area += weight * min(density(x, xa, ha), density(x, xb, hb))
        }
        return min(1, area * dx)
    }
}
