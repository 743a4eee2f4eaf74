import MIDI

/// How far a file moves when it is tokenized and decoded again, against the bounds of
/// docs/remi.md. All tick figures are at the internal resolution
/// (480 per beat), measured from the file's exact times rescaled to it.
public struct RoundTripReport: Equatable, Sendable {
    /// Files measured.
    public var files = 0
    /// Token ids written (events plus the end-of-piece id).
    public var tokens = 0
    /// Bars written.
    public var bars = 0
    /// Notes the encoder read.
    public var notesIn = 0
    /// Notes the decoder wrote.
    public var notesOut = 0
    /// Notes whose onset moved at all.
    public var onsetsMoved = 0
    /// Notes whose onset moved by more than 30 ticks (a 64th note).
    public var onsetsMovedOver30 = 0
    /// Notes whose onset moved by more than 60 ticks (half a grid step): must be 0.
    public var onsetsMovedOver60 = 0
    /// Sum of |onset shift| in ticks (for the mean).
    public var onsetShiftSum = 0.0
    /// Largest |onset shift|, ticks.
    public var maxOnsetShift = 0.0
    /// Notes whose length was outside the duration range (60...3840 ticks) and was clamped.
    public var durationsClamped = 0
    /// Of those, notes shorter than the shortest duration (60 ticks).
    public var durationsBelowRange = 0
    /// Notes whose (clamped) length changed at all.
    public var durationsChanged = 0
    /// Sum of |duration error| against the clamped length, ticks.
    public var durationErrorSum = 0.0
    /// Largest |duration error| against the clamped length, ticks (bound: 30).
    public var maxDurationError = 0.0
    /// Notes whose velocity left its bin: must be 0.
    public var velocitiesOutsideBin = 0
    /// Notes whose pitch changed: must be 0.
    public var pitchesChanged = 0
    /// Notes whose part (`Instrument`) changed, with instruments: must be 0.
    public var instrumentsChanged = 0
    /// Files whose time signatures came back other than they were, with metres followed: must
    /// be 0.
    public var metersChanged = 0
    /// Beats whose tempo was compared.
    public var tempoBeats = 0
    /// Largest |tempo error| against the tempo clamped to the class range, bpm (bound: 1).
    public var maxTempoError = 0.0

    /// An empty report.
    public init() {}

    /// Mean |onset shift| per note, ticks.
    public var meanOnsetShift: Double { notesIn > 0 ? onsetShiftSum / Double(notesIn) : 0 }
    /// Mean |duration error| per note, ticks.
    public var meanDurationError: Double { notesIn > 0 ? durationErrorSum / Double(notesIn) : 0 }

    /// True when every bound holds: all notes back, onsets within 60 ticks, durations within
    /// 30 ticks of the clamped length, velocity in bin, pitch exact, tempo within 1 bpm.
    public var withinBounds: Bool {
        notesIn == notesOut && onsetsMovedOver60 == 0 && maxDurationError <= 30 && velocitiesOutsideBin == 0
            && pitchesChanged == 0 && maxTempoError <= 1 && instrumentsChanged == 0 && metersChanged == 0
    }

    /// Adds another report's counts to this one.
    public mutating func add(_ other: RoundTripReport) {
        files += other.files
        tokens += other.tokens
        bars += other.bars
        notesIn += other.notesIn
        notesOut += other.notesOut
        onsetsMoved += other.onsetsMoved
        onsetsMovedOver30 += other.onsetsMovedOver30
        onsetsMovedOver60 += other.onsetsMovedOver60
        onsetShiftSum += other.onsetShiftSum
        maxOnsetShift = max(maxOnsetShift, other.maxOnsetShift)
        durationsClamped += other.durationsClamped
        durationsBelowRange += other.durationsBelowRange
        durationsChanged += other.durationsChanged
        durationErrorSum += other.durationErrorSum
        maxDurationError = max(maxDurationError, other.maxDurationError)
        velocitiesOutsideBin += other.velocitiesOutsideBin
        pitchesChanged += other.pitchesChanged
        instrumentsChanged += other.instrumentsChanged
        metersChanged += other.metersChanged
        tempoBeats += other.tempoBeats
        maxTempoError = max(maxTempoError, other.maxTempoError)
    }
}

extension REMITokenizer {
    /// Tokenizes `file`, decodes the ids, and measures every note and beat tempo against the
    /// original (see `RoundTripReport`). Also returns the decoded file.
    public func roundTrip(_ file: MIDIFile) throws -> (report: RoundTripReport, decoded: MIDIFile) {
        let division = try ticksPerBeat(of: file)
        let ids = try tokenize(file)
        let decoded = decode(ids: ids)
        let scale = Double(config.ticksPerBeat) / Double(division)
        var report = RoundTripReport()
        report.files = 1
        report.tokens = ids.count
        let barID = vocabulary.id(for: .bar)
        report.bars = ids.reduce(0) { $0 + ($1 == barID ? 1 : 0) }

        // Encoding order sorted by (snapped onset, pitch) is the decoder's order within a part;
        // parts are compared in the order `tracks(of:)` writes them.
        let source = sourceNotesAndParts(of: file)
        let quantized = quantizedNotes(of: file, division: division)
        let order = quantized.indices.sorted { a, b in
            let x = quantized[a], y = quantized[b]
            let (rx, ry) = (Self.trackOrder(ofPart: x.instrument), Self.trackOrder(ofPart: y.instrument))
            return (rx.0, rx.1, x.start, x.pitch, a) < (ry.0, ry.1, y.start, y.pitch, b)
        }
        let out = decoded.tracks.flatMap { track in
            track.notes.map { (note: $0, part: part(of: track)) }
        }
        report.notesIn = source.count
        report.notesOut = out.count
        let minLength = Double(config.durationStepTicks)
        let maxLength = Double(config.durationStepTicks * config.durationSteps)
        for (k, i) in order.enumerated() where k < out.count {
            let original = source[i].note, back = out[k].note
            if config.hasInstruments && source[i].part != out[k].part { report.instrumentsChanged += 1 }
            let shift = abs(Double(back.start) - Double(original.start) * scale)
            report.onsetShiftSum += shift
            report.maxOnsetShift = max(report.maxOnsetShift, shift)
            if shift > 0 { report.onsetsMoved += 1 }
            if shift > 30 { report.onsetsMovedOver30 += 1 }
            if shift > 60 { report.onsetsMovedOver60 += 1 }
            let length = Double(max(original.end - original.start, 0)) * scale
            let clamped = min(max(length, minLength), maxLength)
            if clamped != length { report.durationsClamped += 1 }
            if length < minLength { report.durationsBelowRange += 1 }
            let error = abs(Double(back.end - back.start) - clamped)
            if error > 0 { report.durationsChanged += 1 }
            report.durationErrorSum += error
            report.maxDurationError = max(report.maxDurationError, error)
            let bins = config.velocityBins
            if min(max(original.velocity, 0), 127) * bins / 128 != back.velocity * bins / 128 {
                report.velocitiesOutsideBin += 1
            }
            if original.pitch != back.pitch { report.pitchesChanged += 1 }
        }

        // The metres of the bars written (none when the file has no notes).
        if config.followsMeters, let last = quantized.last {
            let asRead = try BarLayout(following: file, division: division, config: config)
            let asDecoded = try BarLayout(following: decoded, division: config.ticksPerBeat, config: config)
            let lastBar = asRead.bar(containing: last.start).bar
            if asRead.runs.filter({ $0.firstBar <= lastBar }) != asDecoded.runs.filter({ $0.firstBar <= lastBar }) {
                report.metersChanged = 1
            }
        }

        // Tempo on every beat of the written bars.
        if let last = quantized.last {
            let layout =
                config.followsMeters
                ? try BarLayout(following: file, division: division, config: config) : BarLayout(uniform: config)
            let beats = layout.start(ofBar: layout.bar(containing: last.start).bar + 1) / config.ticksPerBeat
            let low = Double(config.tempoClasses[0].lowerBPM)
            let high = low + Double(config.tempoValuesPerClass * config.tempoClasses.count - 1)
            var a = 0, b = 0
            var originalBPM = Double(config.defaultTempoBPM), decodedBPM = Double(config.defaultTempoBPM)
            let changes = file.tempoChanges.sorted { $0.tick < $1.tick }
            for beat in 0..<beats {
                while a < changes.count && changes[a].tick <= beat * division {
                    originalBPM = changes[a].microsecondsPerBeat > 0 ? changes[a].bpm : .infinity
                    a += 1
                }
                while b < decoded.tempoChanges.count && decoded.tempoChanges[b].tick <= beat * config.ticksPerBeat {
                    // The whole bpm the decoder meant (its microseconds per beat are rounded).
                    decodedBPM = decoded.tempoChanges[b].bpm.rounded()
                    b += 1
                }
                report.tempoBeats += 1
                report.maxTempoError = max(report.maxTempoError, abs(decodedBPM - min(max(originalBPM, low), high)))
            }
        }
        return (report, decoded)
    }
}

extension REMITokenizer {
    /// The part a decoded track plays: its role, the drums, or its first program (0 without one).
    public func part(of track: Track) -> Int {
        if let role = track.name.flatMap(config.rolePart(ofTrackNamed:)) { return role }
        if track.isDrum { return TokenizerConfig.drumsInstrument }
        return config.hasInstruments ? track.programChanges.first?.program ?? 0 : 0
    }
}
