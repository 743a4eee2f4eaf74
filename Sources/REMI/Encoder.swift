import MIDI

/// A note after quantisation, in internal ticks (see `REMITokenizer.quantizedNotes`).
public struct QuantizedNote: Equatable, Sendable {
    /// Onset snapped to the grid (internal ticks).
    public var start: Int
    /// `start` plus the note's length rescaled to internal ticks: the end moves with the start.
    public var end: Int
    /// MIDI pitch.
    public var pitch: Int
    /// Velocity bin.
    public var velocityBin: Int
    /// Duration step (0-based, nearest, ties to the shorter, clamped to the step range).
    public var durationStep: Int
    /// The part that plays it (an `Instrument` index), or 0 when the config reads no
    /// instruments.
    public var instrument: Int = 0
}

/// Integer division rounded to the nearest, ties down: the original's `np.argmin` keeps the
/// first (lower) of two equally near grid points. `n >= 0`, `d > 0`.
@inline(__always)
func roundedHalfDown(_ n: Int, _ d: Int) -> Int {
    (2 * n + d - 1) / (2 * d)
}

extension REMITokenizer {
    /// The most bars a piece may have (about 15 hours at 120 bpm): a guard against files
    /// whose ticks run to billions, which would otherwise fill memory with empty bars.
    public static let maximumBars = 100_000

    /// The REMI events of `file` (no special tokens), exactly as docs/remi.md and
    /// the original code write them for the default config.
    ///
    /// Steps: gather the notes (`config.tracks`, `dropDrums`, `sustainPedal`); rescale to
    /// internal ticks and snap onsets to the nearest grid step, ties to the earlier; recognise
    /// chords on the snapped notes; expand the tempo map to every beat up to the last tempo
    /// change; write bars 0 through the bar of the last onset, each item as `Position` and its
    /// events, with chords, then tempo, then notes (in order of their unsnapped onset, then
    /// part, then pitch) at one onset. With metres followed each bar is as long as its metre
    /// and a `Time Signature` follows the `Bar` that starts one; with instruments each note's
    /// part comes before its velocity. A file with no notes gives no events.
    public func encode(_ file: MIDIFile) throws -> [REMIEvent] {
        let division = try ticksPerBeat(of: file)
        let notes = quantizedNotes(of: file, division: division)
        guard let lastStart = notes.last?.start else { return [] }
        let layout =
            config.followsMeters
            ? try BarLayout(following: file, division: division, config: config) : BarLayout(uniform: config)
        let grid = config.gridTicks
        let lastBar = layout.bar(containing: lastStart).bar
        guard lastBar < Self.maximumBars else {
            throw REMIError.pieceTooLong(bars: lastBar + 1, limit: Self.maximumBars)
        }
        let endTick = layout.start(ofBar: lastBar + 1)  // items at or after it are not written

        var chords: [ChordRecognizer.Span] = []
        if config.chords {
            let sounding = notes.map { Note(start: $0.start, end: $0.end, pitch: $0.pitch, velocity: 1) }
            chords = ChordRecognizer(ticksPerBeat: config.ticksPerBeat, windowBeats: config.chordWindowBeats)
                .recognize(sounding)
        }
        let tempos = beatTempos(of: file, division: division, before: endTick)

        var events: [REMIEvent] = []
        events.reserveCapacity(notes.count * 4 + tempos.count * 3 + chords.count * 2 + lastBar + 1)
        var bar = -1
        func open(_ tick: Int) {
            let (target, start) = layout.bar(containing: tick)
            while bar < target {
                events.append(.bar)
                bar += 1
                if config.followsMeters, let (n, d) = layout.meterChange(atBar: bar) {
                    events.append(.timeSignature(numerator: n, denominator: d))
                }
            }
            events.append(.position((tick - start) / grid))
        }
        var c = 0, t = 0
        // Chords and tempos up to `limit`, in time order; a chord before a tempo at one onset.
        func writeChordsAndTempos(through limit: Int) {
            while true {
                let chordTick = c < chords.count ? chords[c].start : Int.max
                let tempoTick = t < tempos.count ? tempos[t].tick : Int.max
                if chordTick <= tempoTick && chordTick <= limit {
                    open(chordTick)
                    events.append(.chord(chords[c].label))
                    c += 1
                } else if tempoTick < chordTick && tempoTick <= limit {
                    open(tempoTick)
                    events.append(.tempoClass(tempos[t].tempoClass))
                    events.append(.tempoValue(tempos[t].value))
                    t += 1
                } else {
                    return
                }
            }
        }
        for note in notes {
            writeChordsAndTempos(through: note.start)
            open(note.start)
            if config.hasInstruments { events.append(.instrument(note.instrument)) }
            events.append(.velocity(note.velocityBin))
            events.append(.noteOn(note.pitch))
            events.append(.duration(note.durationStep))
        }
        // Chords and tempos after the last onset, in its bar.
        writeChordsAndTempos(through: endTick - 1)
        return events
    }

    /// The first of `file`'s time signatures whose bars are not the ones this tokenizer reads it
    /// in (`beatsPerBar` quarter notes each), or nil: none, or metres are followed. Bar numbers
    /// given for such a file count the tokenizer's bars, not the score's.
    public func otherMetre(in file: MIDIFile) -> TimeSignature? {
        guard !config.followsMeters else { return nil }
        return file.timeSignatures.first { $0.numerator * 4 != config.beatsPerBar * $0.denominator }
    }

    /// The file's ticks per beat; throws for SMPTE time or a non-positive division.
    func ticksPerBeat(of file: MIDIFile) throws -> Int {
        guard case let .ticksPerBeat(division) = file.division else { throw REMIError.smpteTimeUnsupported }
        guard division > 0 else { throw REMIError.invalidDivision(ticksPerBeat: division) }
        if config.nonFourFour == .reject,
            let other = file.timeSignatures.first(where: { !($0.numerator == 4 && $0.denominator == 4) })
        {
            throw REMIError.nonFourFourTimeSignature(
                tick: other.tick, numerator: other.numerator,
                denominator: other.denominator)
        }
        return division
    }

    /// The notes the encoder reads (per `config.tracks`, `dropDrums`, `sustainPedal`), in file
    /// ticks, ordered by onset, then (with instruments) part, then pitch, then track order.
    public func sourceNotes(of file: MIDIFile) -> [Note] {
        sourceNotesAndParts(of: file).map(\.note)
    }

    /// `sourceNotes(of:)` with each note's part (`instrument(of:in:file:)`; 0 without
    /// instruments).
    public func sourceNotesAndParts(of file: MIDIFile) -> [(note: Note, part: Int)] {
        func kept(_ note: Note) -> Bool {
            (0...127).contains(note.pitch) && !(config.dropDrums && note.channel == GeneralMIDI.drumChannel)
        }
        var notes: [(note: Note, part: Int)]
        switch config.tracks {
        case .merge:
            notes = []
            notes.reserveCapacity(file.tracks.reduce(0) { $0 + $1.notes.count })
            for track in file.tracks { for note in track.notes where kept(note) { notes.append((note, 0)) } }
        case .firstWithNotes:
            notes = (file.tracks.lazy.map { $0.notes.filter(kept) }.first { !$0.isEmpty } ?? []).map { ($0, 0) }
        case .instruments:
            let programs = PartFinder(file: file, config: config)
            notes = []
            notes.reserveCapacity(file.tracks.reduce(0) { $0 + $1.notes.count })
            for track in file.tracks {
                let role = programs.role(of: track)
                for note in track.notes where kept(note) { notes.append((note, role ?? programs.part(of: note))) }
            }
        }
        if config.sustainPedal == .extendNotes {
            // The pedal moves ends only: parts stay with their notes.
            let extended = SustainPedal.apply(
                to: notes.map(\.note), controlChanges: file.tracks.flatMap(\.controlChanges))
            notes = zip(extended, notes).map { ($0, $1.part) }
        }
        // Stable order: onset, part, pitch, then the order read (track order).
        var order = Array(notes.indices)
        order.sort { a, b in
            let x = notes[a], y = notes[b]
            if x.note.start != y.note.start { return x.note.start < y.note.start }
            if x.part != y.part { return x.part < y.part }
            if x.note.pitch != y.note.pitch { return x.note.pitch < y.note.pitch }
            return a < b
        }
        return order.map { notes[$0] }
    }

    /// The bar (0-based) that a note starting at file tick `tick` falls in once its onset is
    /// snapped to the grid, as the encoder places it; `division` is the file's ticks per beat.
    public func bar(ofTick tick: Int, division: Int) -> Int {
        let grid = config.gridTicks
        return roundedHalfDown(max(tick, 0) * config.ticksPerBeat, division * grid) * grid / config.ticksPerBar
    }

    /// The notes rescaled to internal ticks with onsets on the grid, in encoding order.
    public func quantizedNotes(of file: MIDIFile) throws -> [QuantizedNote] {
        quantizedNotes(of: file, division: try ticksPerBeat(of: file))
    }

    func quantizedNotes(of file: MIDIFile, division: Int) -> [QuantizedNote] {
        let tpb = config.ticksPerBeat, grid = config.gridTicks
        let bins = config.velocityBins, steps = config.durationSteps, stepTicks = config.durationStepTicks
        return sourceNotesAndParts(of: file).map { note, part in
            let start = max(note.start, 0)
            let length = max(note.end - start, 0)
            let snapped = roundedHalfDown(start * tpb, division * grid) * grid
            let step = min(max(roundedHalfDown(length * tpb, division * stepTicks), 1), steps) - 1
            let velocity = min(max(note.velocity, 0), 127)
            return QuantizedNote(
                start: snapped, end: snapped + roundedHalfDown(length * tpb, division),
                pitch: note.pitch, velocityBin: min(velocity * bins / 128, bins - 1),
                durationStep: step, instrument: part)
        }
    }

    /// A tempo written on a beat: internal tick, class index, value within the class.
    struct BeatTempo {
        var tick: Int
        var tempoClass: Int
        var value: Int
    }

    /// The tempo on every beat from 0 through the first beat at or after the last tempo change
    /// (beat 0 only when the file has none), each the latest change at or before that beat, in whole bpm
    /// rounded down; `config.defaultTempoBPM` before the first change. Beats at or after
    /// `endTick` (internal ticks) are left out.
    func beatTempos(of file: MIDIFile, division: Int, before endTick: Int) -> [BeatTempo] {
        var changes = file.tempoChanges
        if changes.contains(where: { $0.tick < 0 })
            || !zip(changes, changes.dropFirst()).allSatisfy({ $0.tick <= $1.tick })
        {
            changes = changes.enumerated().sorted { ($0.element.tick, $0.offset) < ($1.element.tick, $1.offset) }.map(
                \.element)
        }
        // Through the first beat at or after the last change: a last change between beats
        // still reaches a beat (the original stops at the beat before it and loses it).
        let lastBeat = changes.last.map { (max($0.tick, 0) + division - 1) / division } ?? 0
        let beats = min(lastBeat + 1, (endTick + config.ticksPerBeat - 1) / config.ticksPerBeat)
        var result: [BeatTempo] = []
        result.reserveCapacity(max(beats, 0))
        var next = 0, bpm = config.defaultTempoBPM
        for beat in 0..<max(beats, 0) {
            while next < changes.count && changes[next].tick <= beat * division {
                let mspb = changes[next].microsecondsPerBeat
                bpm = mspb > 0 ? 60_000_000 / mspb : Int.max
                next += 1
            }
            let (tempoClass, value) = tempoClassAndValue(bpm: bpm)
            result.append(BeatTempo(tick: beat * config.ticksPerBeat, tempoClass: tempoClass, value: value))
        }
        return result
    }

    /// The class and value of a whole-bpm tempo, clamped at both ends of the class ranges.
    public func tempoClassAndValue(bpm: Int) -> (tempoClass: Int, value: Int) {
        let width = config.tempoValuesPerClass, classes = config.tempoClasses.count
        let offset = bpm - config.tempoClasses[0].lowerBPM
        if offset < 0 { return (0, 0) }
        if offset >= width * classes { return (classes - 1, width - 1) }
        return (offset / width, offset % width)
    }
}

/// Which part plays a note (docs/remi.md, "Instruments and meters"): the track's role when its
/// name is one of `TokenizerConfig.trackRoles`, else the drums for channel 10, else the program
/// in force on the note's channel when it starts (`ProgramMap`).
struct PartFinder {
    private let config: TokenizerConfig
    private let programs: ProgramMap

    init(file: MIDIFile, config: TokenizerConfig) {
        self.config = config
        programs = ProgramMap(file: file)
    }

    /// The role part of `track`, when its name is a role.
    func role(of track: Track) -> Int? {
        track.name.flatMap(config.rolePart(ofTrackNamed:))
    }

    /// The drums or the program part of `note`.
    func part(of note: Note) -> Int {
        if note.channel == GeneralMIDI.drumChannel { return TokenizerConfig.drumsInstrument }
        return programs.program(onChannel: note.channel, atTick: note.start)
    }
}
