import Foundation

/// Text tables and JSON for `cadenza metrics`.
public enum MetricsReport {
    /// A number with `digits` decimals, or "-" for NaN.
    static func format(_ x: Double, digits: Int = 3) -> String {
        x.isNaN ? "-" : String(format: "%.\(digits)f", x)
    }

    private static func pad(_ s: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - s.count))
        return right ? padding + s : s + padding
    }

    private static let pitchClassNames = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

    /// One piece: every metric with its value, unit and source. Several: each metric's mean,
    /// standard deviation, minimum and maximum over the pieces (NaN values skipped).
    public static func table(_ pieces: [PieceMetrics]) -> String {
        var lines: [String] = []
        if pieces.count == 1, let piece = pieces.first {
            lines.append("\(piece.path)")
            lines.append(pad("metric", 22) + pad("value", 12, right: true) + "  " + pad("unit", 14) + "source")
            for metric in Metric.allCases {
                lines.append(
                    pad(metric.rawValue, 22) + pad(format(piece[metric]), 12, right: true) + "  "
                        + pad(metric.unit, 14) + metric.source)
            }
        } else {
            lines.append("\(pieces.count) pieces")
            lines.append(
                pad("metric", 22) + ["mean", "std", "min", "max"].map { pad($0, 11, right: true) }.joined()
                    + pad("n", 6, right: true) + "  unit")
            for metric in Metric.allCases {
                let values = pieces.map { $0[metric] }.filter { !$0.isNaN }
                let summary = SetComparison.Summary(values)
                let cells = [summary.mean, summary.std, values.min() ?? .nan, values.max() ?? .nan]
                lines.append(
                    pad(metric.rawValue, 22) + cells.map { pad(format($0), 11, right: true) }.joined()
                        + pad(String(values.count), 6, right: true) + "  " + metric.unit)
            }
        }
        let histogram = SetComparison(a: pieces, b: pieces).pitchClassesA
        lines.append(
            "pitch-class histogram: "
                + zip(pitchClassNames, histogram).map { "\($0) \(format($1, digits: 2))" }.joined(separator: "  "))
        return lines.joined(separator: "\n")
    }

    /// Two sets side by side with the overlap of each metric's distributions.
    public static func table(_ comparison: SetComparison, nameA: String, nameB: String) -> String {
        var lines: [String] = []
        lines.append("A = \(nameA)\nB = \(nameB)")
        lines.append(
            pad("metric", 22) + pad("A mean", 11, right: true) + pad("A std", 10, right: true)
                + pad("B mean", 11, right: true) + pad("B std", 10, right: true) + pad("overlap", 10, right: true))
        for row in comparison.rows {
            lines.append(
                pad(row.metric.rawValue, 22) + pad(format(row.a.mean), 11, right: true)
                    + pad(format(row.a.std), 10, right: true) + pad(format(row.b.mean), 11, right: true)
                    + pad(format(row.b.std), 10, right: true) + pad(format(row.overlap), 10, right: true))
        }
        lines.append(pad("pitch_class_histogram", 64) + pad(format(comparison.pitchClassOverlap), 10, right: true))
        lines.append(pad("position_histogram", 64) + pad(format(comparison.positionOverlap), 10, right: true))
        lines.append(
            "overlap: area shared by the two distributions of per-piece values (1 = same, 0 = disjoint); see "
                + "docs/metrics.md"
        )
        return lines.joined(separator: "\n")
    }

    /// NaN becomes JSON null.
    private static func json(_ x: Double) -> Any { x.isNaN || x.isInfinite ? NSNull() : x }

    private static func object(_ piece: PieceMetrics) -> [String: Any] {
        var o: [String: Any] = [
            "path": piece.path, "error": NSNull(),
            "pitch_class_histogram": piece.pitchClassHistogram,
            "position_histogram": piece.positionHistogram,
        ]
        for metric in Metric.allCases { o[metric.rawValue] = json(piece[metric]) }
        return o
    }

    private static func serialise(_ value: Any) throws -> String {
        let data = try JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])
        return String(decoding: data, as: UTF8.self)
    }

    /// One JSON object per piece, one per line (docs/cli.md): `path`, `error` (null), every
    /// metric (NaN as null) and the two histograms.
    public static func jsonLines(_ pieces: [PieceMetrics]) throws -> String {
        try pieces.map { try serialise(object($0)) }.joined(separator: "\n")
    }

    /// The JSON line of a file that could not be measured: `path`, `error`, and every metric null.
    public static func jsonLine(skipped path: String, error: String) throws -> String {
        var o: [String: Any] = [
            "path": path, "error": error, "pitch_class_histogram": NSNull(), "position_histogram": NSNull(),
        ]
        for metric in Metric.allCases { o[metric.rawValue] = NSNull() }
        return try serialise(o)
    }

    /// One line: `{"a": ..., "b": ..., "metrics": {name: {a_mean, a_std, a_count, b_..., overlap}}, ...}`.
    public static func json(_ comparison: SetComparison, nameA: String, nameB: String) throws -> String {
        var metrics: [String: Any] = [:]
        for row in comparison.rows {
            metrics[row.metric.rawValue] = [
                "a_mean": json(row.a.mean), "a_std": json(row.a.std), "a_count": row.a.count,
                "b_mean": json(row.b.mean), "b_std": json(row.b.std), "b_count": row.b.count,
                "overlap": json(row.overlap),
            ]
        }
        return try serialise([
            "a": nameA, "b": nameB, "metrics": metrics,
            "pitch_class_histogram": [
                "a": comparison.pitchClassesA, "b": comparison.pitchClassesB,
                "overlap": comparison.pitchClassOverlap,
            ],
            "position_histogram": [
                "a": comparison.positionsA, "b": comparison.positionsB,
                "overlap": comparison.positionOverlap,
            ],
        ])
    }
}
