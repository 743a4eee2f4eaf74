import MIDI
import REMI

extension REMITokenizer {
    /// The first `bars` bars of `file` as ids, to continue with a model: every token before
    /// the `Bar` that would open bar `bars + 1`, without `End Of Piece`. nil keeps the whole
    /// piece. A file with fewer bars gives all of them.
    public func prompt(from file: MIDIFile, bars: Int?) throws -> [Int] {
        let ids = try tokenize(file).filter { $0 != vocabulary.endOfPieceID }
        return Self.firstBars(of: ids, bars: bars, barID: vocabulary.id(for: .bar) ?? -1)
    }

    /// The ids before the `(bars + 1)`-th `Bar` of `ids` (all of them when `bars` is nil).
    public static func firstBars(of ids: [Int], bars: Int?, barID: Int) -> [Int] {
        guard let bars else { return ids }
        var seen = 0
        for (i, id) in ids.enumerated() where id == barID {
            seen += 1
            if seen > bars { return Array(ids[..<i]) }
        }
        return ids
    }
}
