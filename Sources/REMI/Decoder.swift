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
    ///    event means no tempo change (players assume 120 bpm). It ends (End of Track) at the
    ///    bar line after its last bar, or at the last note's end if that is later.
    /// 8. With metres followed, each bar lasts as long as the metre in force when the next `Bar`
    ///    comes (4/4 until a `Time Signature` says otherwise), and the file has a time signature
    ///    at every bar whose metre differs from the bar before. A `Position` past the end of its
    ///    bar is skipped.
    /// 9. With instruments, an `Instrument` is pending until the next event, like a velocity: a
    ///    `Note Velocity` keeps it for the `Note On` after that; a note with none plays on the
    ///    first role (or piano). Each part becomes one track (`tracks(of:)`).
    public func decode(_ events: [REMIEvent]) -> MIDIFile {
        let grid = config.gridTicks
        // The bar in force: its index, first tick and metre. Bars before it are in the past.
        var bar = -1, position = 0, barStart = 0
        var meter = (numerator: config.beatsPerBar, denominator: 4)
        var barTicks: Int { meter.numerator * config.ticksPerBeat * 4 / meter.denominator }
        var meters: [TimeSignature] = []
        // Ticks stay below the largest a MIDI file can carry, whatever the bars' lengths.
        let tickLimit = (Self.maximumBars - 1) * config.ticksPerBar
        var notes: [Note] = []
        var parts: [Int] = []
        let defaultPart = config.trackRoles.isEmpty ? 0 : TokenizerConfig.drumsInstrument + 1
        var pendingPart: Int?
        var tempos: [TempoChange] = []
        var markers: [TextEvent] = []
        var pendingVelocity: Int?
        var pendingClass: Int?
        var openNote: Note?

        var onset: Int { barStart + position * grid }
        var openPart = 0
        func closeNote(step: Int) {
            if var note = openNote {
                note.end = note.start + (step + 1) * config.durationStepTicks
                notes.append(note)
                parts.append(openPart)
                openNote = nil
            }
        }
        func enterFirstBar() {
            if bar < 0 { bar = 0 }
            if meters.isEmpty {
                meters.append(TimeSignature(tick: 0, numerator: meter.numerator, denominator: meter.denominator))
            }
        }

        var inHint = false
        // Bars restated after `Infill_Middle` (`infillBridgeBars`) still to skip, and the
        // `Bar` tokens of them seen so far.
        var bridgeBars = 0, bridgeBarsSeen = 0
        for event in events where vocabulary.id(for: event) != nil {
            if case .endOfPiece = event { break }
            // An infilling hint repeats bars that come again after the gap, and the bridge
            // repeats bars that came before it: neither is new music.
            if event == .fillSuffix { inHint = true }
            if event == .fillMiddle {
                inHint = false
                (bridgeBars, bridgeBarsSeen) = (min(config.infillBridgeBars, bar + 1), 0)
                continue
            }
            if inHint { continue }
            if bridgeBars > 0 {
                if event == .bar { bridgeBarsSeen += 1 }
                if bridgeBarsSeen <= bridgeBars { continue }
                bridgeBars = 0
            }
            // Pending items live for exactly one event; a part lives on through a velocity.
            let velocity = pendingVelocity, tempoClass = pendingClass, part = pendingPart
            pendingVelocity = nil
            pendingClass = nil
            pendingPart = nil
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
                if bar >= 0 && barStart + barTicks <= tickLimit && bar < Self.maximumBars - 1 {
                    barStart += barTicks
                    bar += 1
                } else if bar < 0 {
                    bar = 0
                }
                enterFirstBar()
                position = 0
            case let .timeSignature(n, d):
                meter = (n, d)
                if meters.last?.tick == barStart { meters.removeLast() }
                if meters.last.map({ $0.numerator != n || $0.denominator != d }) ?? true {
                    meters.append(TimeSignature(tick: barStart, numerator: n, denominator: d))
                }
            case let .position(p):
                enterFirstBar()
                if config.followsMeters
                    && p >= config.positions(numerator: meter.numerator, denominator: meter.denominator)
                {
                    break
                }
                position = p
            case let .instrument(i):
                pendingPart = i
            case let .chord(label):
                enterFirstBar()
                markers.append(TextEvent(tick: onset, kind: .marker, text: label.name))
            case let .tempoClass(c):
                pendingClass = c
            case let .tempoValue(v):
                if let c = tempoClass {
                    enterFirstBar()
                    let bpm = config.tempoClasses[c].lowerBPM + v
                    // Microseconds rounded down, so the tempo read back is bpm or a hair above, and
                    // the encoder's whole-bpm rounding down gives bpm again.
                    tempos.append(TempoChange(tick: onset, microsecondsPerBeat: 60_000_000 / bpm))
                }
            case let .velocity(b):
                pendingVelocity = b
                pendingPart = part
            case let .noteOn(pitch):
                enterFirstBar()
                let v = velocity.map(velocity(ofBin:)) ?? config.decoderDefaultVelocity
                openNote = Note(start: onset, end: onset, pitch: pitch, velocity: v)
                openPart = config.hasInstruments ? (part ?? defaultPart) : 0
            }
        }
        closeNote(step: config.decoderDefaultDurationStep)

        // Stable by tick, and the last of several tempos at one tick wins.
        var byTick: [TempoChange] = []
        for tempo in tempos.enumerated().sorted(by: { ($0.element.tick, $0.offset) < ($1.element.tick, $1.offset) })
            .map(\.element)
        {
            if byTick.last?.tick == tempo.tick { byTick[byTick.count - 1] = tempo } else { byTick.append(tempo) }
        }
        markers = markers.enumerated().sorted { ($0.element.tick, $0.offset) < ($1.element.tick, $1.offset) }.map(
            \.element)
        // A piece of N bars lasts N bars, rests included: it ends at the bar line after its
        // last bar (or later, where a note rings past it).
        let end = max(
            notes.reduce(0) { max($0, $1.end) }, byTick.last?.tick ?? 0, markers.last?.tick ?? 0,
            bar >= 0 ? barStart + barTicks : 0)
        var tracks = self.tracks(of: notes, parts: parts, endTick: end)
        if tracks.isEmpty { tracks = [Track(name: "Piano", endTick: end)] }
        tracks[0].texts = markers
        return MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(config.ticksPerBeat), tracks: tracks,
            tempoChanges: byTick,
            timeSignatures: config.followsMeters && !meters.isEmpty
                ? meters : [TimeSignature(tick: 0, numerator: config.beatsPerBar, denominator: 4)])
    }

    /// One track per part, notes sorted by onset, then pitch, then the order written.
    /// Without instruments: one piano track. With them: the track roles first (named as the
    /// role), then the programs in ascending order (named by General MIDI, with a program
    /// change at tick 0), then the drums (channel 10). Channels go to the parts in that order,
    /// skipping channel 10, and are shared round-robin when there are more than 15 parts.
    func tracks(of notes: [Note], parts: [Int], endTick: Int) -> [Track] {
        var byPart: [Int: [Note]] = [:]
        for (note, part) in zip(notes, parts) { byPart[part, default: []].append(note) }
        func sorted(_ notes: [Note]) -> [Note] {
            notes.enumerated()
                .sorted {
                    ($0.element.start, $0.element.pitch, $0.offset) < ($1.element.start, $1.element.pitch, $1.offset)
                }
                .map(\.element)
        }
        guard config.hasInstruments else {
            return byPart.isEmpty ? [] : [Track(name: "Piano", notes: sorted(notes), endTick: endTick)]
        }
        let drums = TokenizerConfig.drumsInstrument
        let order = byPart.keys.sorted { Self.trackOrder(ofPart: $0) < Self.trackOrder(ofPart: $1) }
        let melodicChannels = (0...15).filter { $0 != GeneralMIDI.drumChannel }
        var next = 0
        return order.map { part in
            var track = Track(endTick: endTick)
            let channel: Int
            if part == drums {
                channel = GeneralMIDI.drumChannel
                track.name = "Drums"
                track.isDrum = true
            } else {
                channel = melodicChannels[next % melodicChannels.count]
                next += 1
                if part > drums {
                    track.name = config.trackRoles[part - drums - 1]
                } else {
                    track.name = GeneralMIDI.name(ofProgram: part)
                    track.programChanges = [ProgramChange(tick: 0, program: part, channel: channel)]
                }
            }
            track.notes = sorted(byPart[part] ?? []).map { note in
                var n = note
                n.channel = channel
                return n
            }
            return track
        }
    }

    /// Where part `part`'s track comes in a decoded file: roles, then programs, then drums.
    static func trackOrder(ofPart part: Int) -> (Int, Int) {
        let drums = TokenizerConfig.drumsInstrument
        return part > drums ? (0, part) : part < drums ? (1, part) : (2, part)
    }

    /// The velocity a bin decodes to: the centre of the velocities that fall in it, 1...127.
    public func velocity(ofBin bin: Int) -> Int {
        let bins = config.velocityBins
        let low = (bin * 128 + bins - 1) / bins
        let high = ((bin + 1) * 128 + bins - 1) / bins - 1
        return min(max((low + high + 1) / 2, 1), 127)
    }
}
