import REMI
import Tensor

/// How training pieces carry the control tokens (docs/control.md), for a tokenizer with
/// controls. Each piece, after augmentation:
/// - restates its controls after every `Bar`: its style (from the corpus), the key measured on
///   its (transposed) notes, and the bar's own density class; each kind is left out of the
///   whole piece with probability `headerDropout`, so that the model also learns pieces whose
///   controls are not given;
/// - holds infilling examples: gaps of `gapBars` bars, about one every `barsPerGap` bars, each
///   preceded by `Infill_Suffix`, up to `suffixBars` of the bars after the gap (at most
///   `suffixTokens` tokens), `Infill_Middle`, and followed by `Infill_End`.
/// The piece's own tokens stay in order around the inserts, so the plain continuation is
/// still learnt on every token. The draws depend only on (seed, epoch, piece).
public struct ControlArrangement: Codable, Equatable, Sendable {
    /// Probability of leaving each kind of header token (style, key, density) out of a whole piece.
    public var headerDropout: Double = 0.15
    /// Mean bars between the starts of two gaps.
    public var barsPerGap: Int = 12
    /// Length of a gap in bars.
    public var gapBars: ClosedRange<Int> = 1...8
    /// Bars after the gap shown before it.
    public var suffixBars: ClosedRange<Int> = 1...2
    /// The most tokens of those bars shown: short enough that the bars before the gap stay
    /// within the memory while the gap is written.
    public var suffixTokens: Int = 192

    /// The default arrangement.
    public init() {}

    /// `ids` (one piece, ending with `End Of Piece`) with its headers and infilling examples;
    /// `style` is an index into the tokenizer's styles.
    public func apply(
        to ids: [Int32], style: Int?, tokenizer: REMITokenizer, seed: UInt64, epoch: Int, piece: Int
    ) -> [Int32] {
        guard tokenizer.hasControls else { return ids }
        var g = SeededGenerator(seed: SeededShuffle.mix(seed, 0xC0A7, UInt64(epoch), UInt64(piece)))
        let keep = (0..<3).map { _ in Double.random(in: 0..<1, using: &g) >= headerDropout }
        let ids = tokenizer.withHeaders(
            ids, style: keep[0] ? style : nil, key: keep[1] ? tokenizer.key(ofIDs: ids) : nil, density: keep[2])
        // Gaps at least the longest hint apart, so no hint repeats another gap's markers.
        let bars = tokenizer.barStarts(of: ids).count
        var gaps: [(Range<Int>, Int)] = []
        var start = Int.random(in: 0...(2 * barsPerGap), using: &g)
        while true {
            let length = Int.random(in: gapBars, using: &g)
            let shown = Int.random(in: suffixBars, using: &g)
            guard start + length < bars else { break }
            gaps.append((start..<(start + length), shown))
            start += length + suffixBars.upperBound + Int.random(in: 1...(2 * barsPerGap), using: &g)
        }
        var out = ids
        for (gap, shown) in gaps.reversed() {
            out =
                tokenizer.insertingInfill(into: out, gap: gap, suffixBars: shown, suffixTokens: suffixTokens) ?? out
        }
        return out
    }
}
