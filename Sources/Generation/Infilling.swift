import MIDI
import Models
import REMI

/// Bar infilling (docs/control.md): rewrite bars of a MIDI file and keep every other bar
/// exactly as it was. The model reads the bars before the gap, then `Infill_Suffix`, the bars
/// after the gap, `Infill_Middle`, and writes the gap's bars; the notes it writes are spliced
/// into the file, whose own notes outside the gap are not touched.
public struct Infilling: Sendable {
    /// The file to rewrite.
    public let file: MIDIFile
    /// The bars to rewrite, 0-based (`--bars 5-8` is 4..<8).
    public let gap: Range<Int>
    /// The bars after the gap shown to the model.
    public let hintBars: Int
    /// The tokenizer of the model (with control tokens).
    public let tokenizer: REMITokenizer
    /// The file's ids (without `End Of Piece`), with the controls restated after every `Bar`
    /// as in training: the style asked, the key asked or measured, each bar's density.
    public let ids: [Int]
    /// Where each bar's ids start.
    public let barStarts: [Int]

    /// The most bars after the gap shown to the model, and the most tokens of them (as in
    /// training, `ControlArrangement`).
    public static let suffixBars = 2, suffixTokens = 192

    /// The least Transformer-XL memory the gap is written with: the hint sits between the bars
    /// before the gap and the gap, and a memory that holds the bars before the gap and the hint
    /// together is what lets the hint help rather than push those bars out of reach
    /// (docs/control.md, "Infilling").
    public static let memoryLength = 1024

    /// The last bar a gap may reach: every bar before the gap is read before it is written, so
    /// a gap at the end of a very long file would keep the decoder busy for minutes.
    public static let lastBar = 4_096

    /// Prepares to rewrite bars `gap` (0-based) of `file`, whose style is `style` (an index
    /// into the tokenizer's styles) and key `key` (nil: measured). Throws when the tokenizer
    /// has no control tokens, or the gap is not inside the file's bars.
    public init(
        file: MIDIFile, gap: Range<Int>, tokenizer: REMITokenizer, style: Int? = nil, key: MusicalKey? = nil,
        hintBars: Int = Infilling.suffixBars
    ) throws {
        guard tokenizer.hasControls else {
            throw GenerationError.invalidControl(
                name: "infill",
                reason: "this model has no infilling tokens: fine-tune it with `cadenza train --controls` "
                    + "(the bundled model has them)")
        }
        let plain = try tokenizer.tokenize(file).filter { $0 != tokenizer.vocabulary.endOfPieceID }
        let ids = tokenizer.withHeaders(plain, style: style, key: key ?? tokenizer.key(ofIDs: plain), density: true)
        let bars = tokenizer.barStarts(of: ids)
        guard !gap.isEmpty, gap.lowerBound >= 0, gap.upperBound <= bars.count else {
            let onlyDrums = !tokenizer.config.hasInstruments && file.notesAreAllDrums
            throw GenerationError.invalidControl(
                name: "bars",
                reason: onlyDrums
                    ? "the music's notes are all drums (MIDI channel 10), which this model does not play"
                    : "bars \(gap.lowerBound + 1)-\(gap.upperBound) are not inside the music, which has "
                        + "\(bars.count) bar\(bars.count == 1 ? "" : "s") (bars count from 1)")
        }
        self.file = file
        self.gap = gap
        self.hintBars = max(hintBars, 1)
        self.tokenizer = tokenizer
        self.ids = ids
        self.barStarts = bars
    }

    /// What the model reads before writing the gap: the bars before the gap, then the hint
    /// (`Infill_Suffix`, the bars after it, `Infill_Middle`, and the bars before the gap again
    /// when the model learnt them, `infillBridgeBars`). With no bar after the gap there is
    /// nothing to hint: the gap is a plain continuation.
    public var context: [Int] {
        guard hasSuffix,
            let parts = tokenizer.infillParts(
                of: ids, gap: gap, suffixBars: hintBars, suffixTokens: Self.suffixTokens),
            let s = tokenizer.vocabulary.id(for: .fillSuffix), let m = tokenizer.vocabulary.id(for: .fillMiddle)
        else { return Array(ids[..<barStarts[gap.lowerBound]]) }
        return ids[..<parts.middle.lowerBound] + [s] + ids[parts.suffix] + [m] + ids[parts.bridge]
    }

    /// Whether the model is given the bars after the gap (false when the gap ends the file).
    public var hasSuffix: Bool { gap.upperBound < barStarts.count }

    /// The real ids of the gap's bars (for measuring).
    public var middle: ArraySlice<Int> {
        ids[barStarts[gap.lowerBound]..<(gap.upperBound < barStarts.count ? barStarts[gap.upperBound] : ids.count)]
    }

    /// The file with the gap's notes replaced by the notes of `middle` (ids that start with the
    /// gap's first `Bar`). Notes that start in other bars, every tempo, time signature and
    /// other event are kept exactly; the new notes go to the track (not a drum track) that held
    /// most notes in the gap, or the first with notes when the gap was silent.
    public func splice(middle: [Int]) throws -> MIDIFile {
        guard case let .ticksPerBeat(division) = file.division, division > 0 else {
            throw REMIError.smpteTimeUnsupported
        }
        var out = file
        // The new notes go to the track that played most in the gap (the first track with notes
        // when none did): a piano part rewritten in a song goes back into its piano track, not
        // into the melody's.
        var target: Int?, mostRemoved = 0
        // A note goes with the gap when it is in the gap both as played (as a piano roll shows
        // it) and as the model read it (onset snapped to the grid): a downbeat played a hair
        // early stays in the bar before the gap, and one just before the bar after the gap,
        // which the model read in that bar, stays there.
        let barTicks = tokenizer.config.beatsPerBar * division
        let gapTicks = (gap.lowerBound * barTicks)..<(gap.upperBound * barTicks)
        func inGap(_ note: Note) -> Bool {
            gapTicks.contains(note.start) && gap.contains(tokenizer.bar(ofTick: note.start, division: division))
        }
        for t in out.tracks.indices {
            let before = out.tracks[t].notes.count
            out.tracks[t].notes.removeAll(where: inGap)
            let removed = before - out.tracks[t].notes.count
            // Drums keep their track: the model writes keys, not drum sounds.
            if before > 0 && !out.tracks[t].isDrum && (target == nil || removed > mostRemoved) {
                (target, mostRemoved) = (t, removed)
            }
        }
        let written = tokenizer.decode(ids: middle).tracks.flatMap(\.notes)
        let internalTicks = tokenizer.config.ticksPerBeat
        let offset = gapTicks.lowerBound
        let channel = target.flatMap { file.tracks[$0].notes.first?.channel } ?? 0
        // A new note ringing past the gap ends where the kept music strikes its key again on its
        // channel: two overlapping strikes of one key cannot both sound, and the kept one wins.
        var nextStrikes: [Int: [Int]] = [:]
        for track in out.tracks where !track.isDrum {
            for note in track.notes where note.channel == channel {
                nextStrikes[note.pitch, default: []].append(note.start)
            }
        }
        for pitch in nextStrikes.keys { nextStrikes[pitch]?.sort() }
        let notes = written.map { note in
            let start = offset + note.start * division / internalTicks
            var end = offset + note.end * division / internalTicks
            if let next = nextStrikes[note.pitch]?.first(where: { $0 > start }), next < end { end = next }
            return Note(start: start, end: end, pitch: note.pitch, velocity: note.velocity, channel: channel)
        }
        if let target {
            out.tracks[target].notes = (out.tracks[target].notes + notes).enumerated()
                .sorted { ($0.element.start, $0.offset) < ($1.element.start, $1.offset) }.map(\.element)
            out.tracks[target].endTick = max(out.tracks[target].endTick, notes.map(\.end).max() ?? 0)
        } else {
            out.tracks.append(Track(name: "Infill", notes: notes, endTick: notes.map(\.end).max() ?? 0))
        }
        return out
    }
}
