/// A Standard MIDI File as plain values: what was played, when, on which track.
///
/// Times are integer ticks; `division` says how long a tick is. Tempo, time-signature and
/// key-signature changes are gathered from every track into file-level maps (sorted by tick),
/// because in practice they apply to the whole file whatever track carries them.
public struct MIDIFile: Equatable, Sendable {
    /// The file's format: 0 (one track), 1 (simultaneous tracks), 2 (independent sequences).
    public var format: Format
    /// How ticks relate to time.
    public var division: Division
    /// The tracks: one per MTrk chunk, in file order. A format-0 file has one track whose notes
    /// and controls may be on several channels (each event carries its channel); see
    /// docs/midi.md.
    public var tracks: [Track]
    /// Set-tempo meta events from all tracks, sorted by tick (stable for equal ticks).
    public var tempoChanges: [TempoChange]
    /// Time-signature meta events from all tracks, sorted by tick.
    public var timeSignatures: [TimeSignature]
    /// Key-signature meta events from all tracks, sorted by tick.
    public var keySignatures: [KeySignature]

    /// Creates a file from its parts.
    public init(
        format: Format = .multiTrack, division: Division = .ticksPerBeat(480),
        tracks: [Track] = [], tempoChanges: [TempoChange] = [],
        timeSignatures: [TimeSignature] = [], keySignatures: [KeySignature] = []
    ) {
        self.format = format
        self.division = division
        self.tracks = tracks
        self.tempoChanges = tempoChanges
        self.timeSignatures = timeSignatures
        self.keySignatures = keySignatures
    }

    /// The SMF format number.
    public enum Format: Int, Sendable, Equatable {
        /// Format 0: a single multi-channel track.
        case singleTrack = 0
        /// Format 1: simultaneous tracks sharing one tempo map.
        case multiTrack = 1
        /// Format 2: independent single-track patterns.
        case multiSequence = 2
    }

    /// The header's time division.
    public enum Division: Equatable, Sendable {
        /// Metrical time: this many ticks per quarter note (1...32767).
        case ticksPerBeat(Int)
        /// Time-code based: `framesPerSecond` (24, 25, 29 for 29.97 drop-frame, or 30)
        /// times `ticksPerFrame` ticks per second.
        case smpte(framesPerSecond: Int, ticksPerFrame: Int)
    }
}

/// One track chunk (MTrk), decoded into notes and the events around them.
public struct Track: Equatable, Sendable {
    /// The track name meta event (FF 03), if any.
    public var name: String?
    /// Notes, sorted by start tick, then pitch.
    public var notes: [Note]
    /// Controller changes (sustain pedal is controller 64), in file order.
    public var controlChanges: [ControlChange]
    /// Program changes, in file order.
    public var programChanges: [ProgramChange]
    /// Pitch-bend events, in file order.
    public var pitchBends: [PitchBend]
    /// Text-like meta events other than the track name (text, copyright, instrument, lyric,
    /// marker, cue point), in file order.
    public var texts: [TextEvent]
    /// True when the track plays on MIDI channel 10 (index 9), the General MIDI drum channel.
    /// The reader sets it when the track has notes and all of them are on channel 9 (a format-0
    /// track mixing channels is not a drum track; ask `Note.isDrum` per note there). The writer
    /// puts every note of a drum track on channel 9.
    public var isDrum: Bool
    /// The tick of the track's last event (End-of-Track if present).
    public var endTick: Int

    /// Creates a track from its parts.
    public init(
        name: String? = nil, notes: [Note] = [], controlChanges: [ControlChange] = [],
        programChanges: [ProgramChange] = [], pitchBends: [PitchBend] = [],
        texts: [TextEvent] = [], isDrum: Bool = false, endTick: Int = 0
    ) {
        self.name = name
        self.notes = notes
        self.controlChanges = controlChanges
        self.programChanges = programChanges
        self.pitchBends = pitchBends
        self.texts = texts
        self.isDrum = isDrum
        self.endTick = endTick
    }
}

/// A sounding note: a note-on paired with its note-off.
public struct Note: Equatable, Hashable, Sendable {
    /// Onset, in ticks.
    public var start: Int
    /// Release, in ticks (`end >= start`; zero-length notes are kept).
    public var end: Int
    /// MIDI key number, 0...127.
    public var pitch: Int
    /// Note-on velocity, 1...127.
    public var velocity: Int
    /// MIDI channel, 0...15.
    public var channel: Int

    /// Creates a note.
    public init(start: Int, end: Int, pitch: Int, velocity: Int, channel: Int = 0) {
        self.start = start
        self.end = end
        self.pitch = pitch
        self.velocity = velocity
        self.channel = channel
    }

    /// The note's length in ticks.
    public var duration: Int { end - start }

    /// True on MIDI channel 10 (index 9), the General MIDI drum channel.
    public var isDrum: Bool { channel == 9 }
}

/// A set-tempo meta event (FF 51).
public struct TempoChange: Equatable, Sendable {
    /// Where the tempo takes effect, in ticks.
    public var tick: Int
    /// Microseconds per quarter note, as stored in the file.
    public var microsecondsPerBeat: Int

    /// Creates a tempo change.
    public init(tick: Int, microsecondsPerBeat: Int) {
        self.tick = tick
        self.microsecondsPerBeat = microsecondsPerBeat
    }

    /// Creates a tempo change from beats per minute.
    public init(tick: Int, bpm: Double) {
        self.init(tick: tick, microsecondsPerBeat: Int((60_000_000 / bpm).rounded()))
    }

    /// The tempo in quarter notes per minute.
    public var bpm: Double { 60_000_000 / Double(microsecondsPerBeat) }
}

/// A time-signature meta event (FF 58).
public struct TimeSignature: Equatable, Sendable {
    /// Where the signature takes effect, in ticks.
    public var tick: Int
    /// Beats per bar (the upper number).
    public var numerator: Int
    /// The beat's note value (the lower number: 4 for a quarter note).
    public var denominator: Int

    /// Creates a time signature.
    public init(tick: Int, numerator: Int, denominator: Int) {
        self.tick = tick
        self.numerator = numerator
        self.denominator = denominator
    }
}

/// A key-signature meta event (FF 59).
public struct KeySignature: Equatable, Sendable {
    /// Where the key takes effect, in ticks.
    public var tick: Int
    /// Sharps (positive) or flats (negative), -7...7.
    public var sharps: Int
    /// True for a minor key.
    public var isMinor: Bool

    /// Creates a key signature.
    public init(tick: Int, sharps: Int, isMinor: Bool) {
        self.tick = tick
        self.sharps = sharps
        self.isMinor = isMinor
    }
}

/// A control-change channel message (Bn cc vv).
public struct ControlChange: Equatable, Sendable {
    /// When, in ticks.
    public var tick: Int
    /// Controller number, 0...127 (64 is the sustain pedal).
    public var controller: Int
    /// Controller value, 0...127 (for the sustain pedal, >= 64 means down).
    public var value: Int
    /// MIDI channel, 0...15.
    public var channel: Int

    /// Creates a control change.
    public init(tick: Int, controller: Int, value: Int, channel: Int = 0) {
        self.tick = tick
        self.controller = controller
        self.value = value
        self.channel = channel
    }
}

/// A program-change channel message (Cn pp).
public struct ProgramChange: Equatable, Sendable {
    /// When, in ticks.
    public var tick: Int
    /// General MIDI program number, 0...127.
    public var program: Int
    /// MIDI channel, 0...15.
    public var channel: Int

    /// Creates a program change.
    public init(tick: Int, program: Int, channel: Int = 0) {
        self.tick = tick
        self.program = program
        self.channel = channel
    }
}

/// A pitch-bend channel message (En ll mm).
public struct PitchBend: Equatable, Sendable {
    /// When, in ticks.
    public var tick: Int
    /// Bend amount, -8192...8191 (0 is centre).
    public var value: Int
    /// MIDI channel, 0...15.
    public var channel: Int

    /// Creates a pitch bend.
    public init(tick: Int, value: Int, channel: Int = 0) {
        self.tick = tick
        self.value = value
        self.channel = channel
    }
}

/// A text-like meta event: FF 01 text, 02 copyright, 04 instrument, 05 lyric, 06 marker, 07 cue.
public struct TextEvent: Equatable, Sendable {
    /// The kind of text.
    public enum Kind: Int, Equatable, Sendable {
        case text = 1, copyright = 2, instrument = 4, lyric = 5, marker = 6, cuePoint = 7
    }
    /// When, in ticks.
    public var tick: Int
    /// Which meta event carried it.
    public var kind: Kind
    /// The text, decoded as UTF-8 (Latin-1 where not valid UTF-8).
    public var text: String

    /// Creates a text event.
    public init(tick: Int, kind: Kind, text: String) {
        self.tick = tick
        self.kind = kind
        self.text = text
    }
}
