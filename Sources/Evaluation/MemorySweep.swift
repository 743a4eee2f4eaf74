import Foundation
import Plot

/// Transformer-XL's NLL as its evaluation memory grows (the relative encoding lets a model
/// read more memory than it was trained with): one `NLLReport` per memory length.
public struct MemorySweep: Sendable {
    /// The reports, in increasing memory length.
    public var points: [NLLReport]
    /// The memory length the model was trained with (marked in the table).
    public var trainingMemoryLength: Int

    /// A sweep from its points (sorted here by memory length).
    public init(points: [NLLReport], trainingMemoryLength: Int) {
        self.points = points.sorted { ($0.memoryLength ?? 0) < ($1.memoryLength ?? 0) }
        self.trainingMemoryLength = trainingMemoryLength
    }

    /// A plain-text table: memory length, NLL per token, perplexity, bits per token, NLL per note.
    public func table() -> String {
        var lines = ["mem_len   NLL/token  perplexity  bits/token  NLL/note"]
        for p in points {
            let m = (p.memoryLength.map(String.init) ?? "-") + (p.memoryLength == trainingMemoryLength ? "*" : " ")
            lines.append(
                String(repeating: " ", count: max(0, 8 - m.count)) + m
                    + String(
                        format: "  %9.4f  %10.3f  %10.4f  %8.4f", p.nllPerToken, p.perplexity,
                        p.bitsPerToken, p.nllPerNote))
        }
        lines.append("(* = the training memory length)")
        return lines.joined(separator: "\n")
    }

    /// NLL per token against memory length, as a line chart.
    public func chart(title: String) -> LineChart {
        LineChart(
            title: title, xLabel: "evaluation memory length (tokens)", yLabel: "NLL per token (nats)",
            series: [
                LineChart.Series(
                    name: "NLL per token",
                    x: points.map { Double($0.memoryLength ?? 0) },
                    y: points.map(\.nllPerToken))
            ],
            showsMarkers: true)
    }
}
