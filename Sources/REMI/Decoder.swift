import MIDI

extension REMITokenizer {
    /// Decodes any sequence of ids to a valid MIDI file; never fails.
    ///
    /// Ids outside `0..<vocabulary.count` are skipped. Then the events are read by
    /// `decode(_:)`'s rules.
    public func decode(ids: [Int]) -> MIDIFile {
        var events: [REMIEvent] = []
        events.reserveCapacity(ids.count)
        for id in ids { if let event = vocabulary.event(for: id) { events.append(event) } }
        return decode(events)
    }

    /// Decodes any sequence of events to a valid MIDI file (one piano track, 480 ticks per
    /// beat by default, 4/4); never fails. The rules, in full (docs/remi.md repeats them):
    ///
    /// 1. An event outside the config's event space (say `.position(40)`) is skipped, like an
    ///    id out of range. `Padding` and `Start Of Piece` are skipped. `End Of Piece` ends the
    ///    piece: nothing after it is read.
    /// 2. Time: the bar index starts at -1 and each `Bar` adds one (up to `maximumBars - 1`,
    ///    so that every tick fits a MIDI file) and resets the position to 1/16. Anything timed before the first
    ///    `Bar` belongs to bar 0 (and the first `Bar`
    ///    after it then opens bar 1). `Position p` sets the position, even backwards: the
    ///    onset is `bar * ticksPerBar + (p - 1) * gridTicks`, whatever came before.
    /// 3. `Note Velocity` is pending until the next event: a `Note On` right after it takes
    ///    it; anything else discards it. A `Note On` with no velocity right before it gets
    ///    `decoderDefaultVelocity`. Velocity bin b decodes to the bin's centre (4b + 2).
    /// 4. `Note On` opens a note at the current onset; a `Note Duration` right after it closes
    ///    it with `(step + 1) * durationStepTicks` ticks. If anything else follows (or the
    ///    sequence ends), the note gets `decoderDefaultDurationStep`. A `Note Duration` with
    ///    no open note is skipped.
    /// 5. `Tempo Class` is pending until the next event: a `Tempo Value` right after it sets
    ///    the tempo to `lowerBPM + value` at the current onset; a `Tempo Value` without a
    ///    class, or a class without a value, is skipped. Of several tempos at one tick the
    ///    last one is kept.
    /// 6. `Chord` becomes a marker (text `G:maj`) at the current onset.
    /// 7. The file: notes sorted by onset, then pitch, then the order written (same-pitch overlaps are kept as
    ///    written), tempo changes sorted by tick, a 4/4 time signature at tick 0; no tempo
    ///    event means no tempo change (players assume 120 bpm).
    public func decode(_ events: [REMIEvent]) -> MIDIFile {
        let barTicks = config.ticksPerBar, grid = config.gridTicks
        var bar = -1, position = 0
        var notes: [Note] = []
        var tempos: [TempoChange] = []
        var markers: [TextEvent] = []
        var pendingVelocity: Int?
        var pendingClass: Int?
        var openNote: Note?

        var onset: Int { max(bar, 0) * barTicks + position * grid }
        func closeNote(step: Int) {
            if var note = openNote {
                note.end = note.start + (step + 1) * config.durationStepTicks
                notes.append(note)
                openNote = nil
            }
        }

        var inHint = false
        for event in events where vocabulary.id(for: event) != nil {
            if case .endOfPiece = event { break }
            // An infilling hint repeats bars that come again after the gap: it is not music.
            if event == .fillSuffix { inHint = true }
            if event == .fillMiddle { inHint = false }
            if inHint { continue }
            // Pending items live for exactly one event.
            let velocity = pendingVelocity, tempoClass = pendingClass
            pendingVelocity = nil
            pendingClass = nil
            if case let .duration(step) = event {
                closeNote(step: step)
                continue
            }
            closeNote(step: config.decoderDefaultDurationStep)
            switch event {
            case .padding, .startOfPiece, .endOfPiece, .duration, .style, .key, .density, .fillSuffix, .fillMiddle,
                .fillEnd:
                break
            case .bar:
                bar = min(bar + 1, Self.maximumBars - 1)
                position = 0
            case let .position(p):
                if bar < 0 { bar = 0 }
                position = p
            case let .chord(label):
                if bar < 0 { bar = 0 }
                markers.append(TextEvent(tick: onset, kind: .marker, text: label.name))
            case let .tempoClass(c):
                pendingClass = c
            case let .tempoValue(v):
                if let c = tempoClass {
                    if bar < 0 { bar = 0 }
                    let bpm = config.tempoClasses[c].lowerBPM + v
                    // Microseconds rounded down, so the tempo read back is bpm or a hair above, and
                    // the encoder's whole-bpm rounding down gives bpm again.
                    tempos.append(TempoChange(tick: onset, microsecondsPerBeat: 60_000_000 / bpm))
                }
            case let .velocity(b):
                pendingVelocity = b
            case let .noteOn(pitch):
                if bar < 0 { bar = 0 }
                let v = velocity.map(velocity(ofBin:)) ?? config.decoderDefaultVelocity
                openNote = Note(start: onset, end: onset, pitch: pitch, velocity: v)
            }
        }
        closeNote(step: config.decoderDefaultDurationStep)

        notes = notes.enumerated()
            .sorted {
                ($0.element.start, $0.element.pitch, $0.offset) < ($1.element.start, $1.element.pitch, $1.offset)
            }
            .map(\.element)
        // Stable by tick, and the last of several tempos at one tick wins.
        var byTick: [TempoChange] = []
        for tempo in tempos.enumerated().sorted(by: { ($0.element.tick, $0.offset) < ($1.element.tick, $1.offset) })
            .map(\.element)
        {
            if byTick.last?.tick == tempo.tick { byTick[byTick.count - 1] = tempo } else { byTick.append(tempo) }
        }
        markers = markers.enumerated().sorted { ($0.element.tick, $0.offset) < ($1.element.tick, $1.offset) }.map(
            \.element)
        let end = max(notes.reduce(0) { max($0, $1.end) }, byTick.last?.tick ?? 0, markers.last?.tick ?? 0)
        let track = Track(name: "Piano", notes: notes, texts: markers, endTick: end)
        return MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(config.ticksPerBeat), tracks: [track],
            tempoChanges: byTick,
            timeSignatures: [TimeSignature(tick: 0, numerator: config.beatsPerBar, denominator: 4)])
    }

    /// The velocity a bin decodes to: the centre of the velocities that fall in it, 1...127.
    public func velocity(ofBin bin: Int) -> Int {
        let bins = config.velocityBins
        let low = (bin * 128 + bins - 1) / bins
        let high = ((bin + 1) * 128 + bins - 1) / bins - 1
        return min(max((low + high + 1) / 2, 1), 127)
    }
}
