extension REMITokenizer {
    /// `ids` moved by `semitones`: every `Note On` by that many semitones and every chord root
    /// with it (mod 12), except the drums' notes (a drum's pitch names a drum, not a note). When
    /// any note would leave 0...127 the ids come back unchanged, so a transposition never drops
    /// or folds a note.
    public func transposed(_ ids: [Int32], by semitones: Int) -> [Int32] {
        guard semitones != 0 else { return ids }
        let v = vocabulary
        // Whether the note being read is a drum's: its `Instrument` says so.
        var drums = false
        for id in ids {
            switch v.event(for: Int(id)) {
            case let .instrument(part)?: drums = part == TokenizerConfig.drumsInstrument
            case let .noteOn(p)? where !drums && !(0...127).contains(p + semitones): return ids
            default: break
            }
        }
        drums = false
        var out = ids
        for (i, id) in ids.enumerated() {
            switch v.event(for: Int(id)) {
            case let .instrument(part)?:
                drums = part == TokenizerConfig.drumsInstrument
            case let .noteOn(p)? where !drums:
                out[i] = Int32(v.id(for: .noteOn(p + semitones)) ?? Int(id))
            case let .chord(.chord(root, quality))?:
                let moved = ((root + semitones) % 12 + 12) % 12
                out[i] = Int32(v.id(for: .chord(.chord(root: moved, quality: quality))) ?? Int(id))
            default: break
            }
        }
        return out
    }
}
