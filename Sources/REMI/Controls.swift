/// The control tokens of docs/control.md read from and written into id sequences: the header
/// restated after every bar (style, key, density) and the infilling arrangement.
extension REMITokenizer {
    /// Whether this tokenizer's vocabulary has the control tokens.
    public var hasControls: Bool { config.controls }

    /// The key of a piece's ids by Krumhansl-Schmuckler over each pitch class's total
    /// duration (`Note On` weighted by its `Note Duration`); nil when it has no notes.
    public func key<C: Collection>(ofIDs ids: C) -> MusicalKey? where C.Element: BinaryInteger {
        var weights = [Double](repeating: 0, count: 12)
        var pitch: Int?
        for id in ids {
            switch vocabulary.event(for: Int(id)) {
            case let .noteOn(p)?: pitch = p
            case let .duration(d)?:
                if let p = pitch { weights[p % 12] += Double(d + 1) }
                pitch = nil
            default: pitch = nil
            }
        }
        return MusicalKey.estimate(pitchClassWeights: weights)
    }

    /// The header ids for the given controls, in the one order the grammar allows (style,
    /// key, density); a control that is nil, or a tokenizer without controls, writes nothing.
    public func header(style: Int?, key: MusicalKey?, density: Int?) -> [Int] {
        guard hasControls else { return [] }
        return [style.map(REMIEvent.style), key.map { .key($0.index) }, density.map(REMIEvent.density)]
            .compactMap { $0.flatMap(vocabulary.id(for:)) }
    }

    /// `ids` (a piece without control tokens) with the controls restated after every `Bar`:
    /// `style` and `key` as given, and when `density` is true each bar's own density class
    /// (its notes). A nil style or key, or a tokenizer without controls, writes nothing.
    public func withHeaders<T: BinaryInteger>(_ ids: [T], style: Int?, key: MusicalKey?, density: Bool) -> [T] {
        guard hasControls else { return ids }
        let bar = vocabulary.id(for: .bar) ?? -1
        let fixed = header(style: style, key: key, density: nil).map { T($0) }
        var out: [T] = []
        out.reserveCapacity(ids.count + (fixed.count + 1) * (ids.count / 64 + 1))
        var i = 0
        while i < ids.count {
            out.append(ids[i])
            guard Int(ids[i]) == bar else { i += 1; continue }
            // A bar's metre comes before its header.
            if i + 1 < ids.count, case .timeSignature? = vocabulary.event(for: Int(ids[i + 1])) {
                i += 1
                out.append(ids[i])
            }
            out += fixed
            if density {
                var notes = 0, j = i + 1
                while j < ids.count && Int(ids[j]) != bar {
                    if case .noteOn? = vocabulary.event(for: Int(ids[j])) { notes += 1 }
                    j += 1
                }
                if let id = vocabulary.id(for: .density(config.densityClass(notesPerBar: Double(notes)))) {
                    out.append(T(id))
                }
            }
            i += 1
        }
        return out
    }

    /// The indices of the `Bar` tokens of `ids`.
    public func barStarts<C: Collection>(of ids: C) -> [Int] where C.Element: BinaryInteger, C.Index == Int {
        let bar = vocabulary.id(for: .bar) ?? -1
        return ids.indices.filter { Int(ids[$0]) == bar }
    }

    /// `ids` (a piece, with or without headers) with one infilling example inserted for the gap of bars
    /// `gap` (0-based bar numbers): before the gap's first bar, `Infill_Suffix`, up to
    /// `suffixBars` bars that follow the gap (cut at `suffixTokens` tokens, at a bar line when
    /// one fits), `Infill_Middle`, and the config's `infillBridgeBars` bars before the gap
    /// again; after the gap's last bar, `Infill_End`. The piece itself is unchanged around the
    /// inserts. nil when the gap is not inside the piece or no bar follows it.
    public func insertingInfill<T: BinaryInteger>(
        into ids: [T], gap: Range<Int>, suffixBars: Int, suffixTokens: Int
    ) -> [T]? {
        guard let parts = infillParts(of: ids, gap: gap, suffixBars: suffixBars, suffixTokens: suffixTokens),
            let s = vocabulary.id(for: .fillSuffix), let m = vocabulary.id(for: .fillMiddle),
            let e = vocabulary.id(for: .fillEnd)
        else { return nil }
        var out: [T] = []
        out.reserveCapacity(ids.count + parts.suffix.count + 3)
        out += ids[..<parts.middle.lowerBound]
        out.append(T(s))
        out += ids[parts.suffix]
        out.append(T(m))
        out += ids[parts.bridge]
        out += ids[parts.middle]
        out.append(T(e))
        out += ids[parts.middle.upperBound...]
        return out
    }

    /// Where the parts of an infilling example lie in `ids`: the gap's tokens (`middle`), the
    /// hint's (`suffix`, starting at the gap's end), and the bars restated between
    /// `Infill_Middle` and the gap (`bridge`: the last `infillBridgeBars` bars before it, fewer
    /// at the start of a piece, empty when the config restates none). See `insertingInfill`.
    public func infillParts<T: BinaryInteger>(
        of ids: [T], gap: Range<Int>, suffixBars: Int, suffixTokens: Int
    ) -> (middle: Range<Int>, suffix: Range<Int>, bridge: Range<Int>)? {
        let bars = barStarts(of: ids)
        guard gap.lowerBound >= 0, !gap.isEmpty, gap.upperBound < bars.count, suffixBars > 0, suffixTokens > 0 else {
            return nil
        }
        // The piece's music ends at End Of Piece (or the end of the ids).
        let end = ids.firstIndex { Int($0) == vocabulary.endOfPieceID } ?? ids.count
        let middle = bars[gap.lowerBound]..<bars[gap.upperBound]
        let lastBar = min(gap.upperBound + suffixBars, bars.count)
        var suffixEnd = lastBar < bars.count ? bars[lastBar] : end
        if suffixEnd - middle.upperBound > suffixTokens {
            // Cut at the last bar line that fits, or when none does before the last `Position`
            // that fits in the first bar, so that no item is cut in two.
            let limit = middle.upperBound + suffixTokens
            if let fitting = bars[(gap.upperBound + 1)..<lastBar].last(where: { $0 <= limit }) {
                suffixEnd = fitting
            } else {
                let cut = ids[(middle.upperBound + 1)...limit].lastIndex {
                    if case .position? = vocabulary.event(for: Int($0)) { return true } else { return false }
                }
                suffixEnd = cut ?? (middle.upperBound + 1)
            }
        }
        let bridge = bars[max(gap.lowerBound - config.infillBridgeBars, 0)]..<middle.lowerBound
        return (middle, middle.upperBound..<suffixEnd, bridge)
    }
}
