import Basics
import Foundation

/// Every choice the REMI tokenizer makes, saved as JSON beside the token files.
///
/// The defaults reproduce the original REMI code (YatingMusic/remi) on a single piano track:
/// 480 ticks per beat, 4/4 bars of 16 positions, 64 durations of a 32nd note, 32 velocity
/// bins, three tempo classes of 60 bpm, chords on. The choices the original never made
/// (several tracks, drums, sustain pedal, other metres) default as docs/remi.md explains.
/// A JSON file may give only the fields it changes; the others keep their defaults.
public struct TokenizerConfig: Codable, Equatable, Sendable {
    /// A named tempo range: `[lowerBPM, lowerBPM + tempoValuesPerClass)`.
    public struct TempoClass: Codable, Equatable, Sendable {
        /// The class name as it appears in events (`Tempo Class mid`).
        public var name: String
        /// The lowest tempo of the range, in whole bpm.
        public var lowerBPM: Int
        /// Creates a tempo class.
        public init(name: String, lowerBPM: Int) {
            self.name = name
            self.lowerBPM = lowerBPM
        }
    }

    /// How the notes of several tracks become one stream.
    public enum TrackPolicy: String, Codable, Sendable {
        /// All tracks' notes are merged into one piano stream (pop909: MELODY, BRIDGE, PIANO).
        case merge
        /// Only the first track that has notes is read, as the original reads `instruments[0]`.
        case firstWithNotes
        /// Every track is read and each note says which part plays it: an `Instrument` token
        /// before its `Note Velocity` (docs/remi.md, "Instruments and meters"). A part is a
        /// track role (`trackRoles`, matched by track name), the drums (channel 10, when
        /// `dropDrums` is off), or a General MIDI program.
        case instruments
    }

    /// What the sustain pedal (controller 64) does.
    public enum SustainPolicy: String, Codable, Sendable {
        /// The pedal is ignored, as in the original: a note lasts from note-on to note-off.
        case ignore
        /// A note released while the pedal is down lasts until the pedal comes up (or until the
        /// same pitch is struck again on that channel, whichever is first), before quantising.
        case extendNotes
    }

    /// What happens to files whose time signature is not 4/4.
    public enum MetrePolicy: String, Codable, Sendable {
        /// Time signatures are ignored and the piece is laid on 4/4 bars, as in the original.
        case fourFourGrid
        /// A file with any time signature other than 4/4 is refused with
        /// `REMIError.nonFourFourTimeSignature`, so a corpus can be filtered.
        case reject
        /// Bars follow the file's time signatures, each bar as long as its metre, with a
        /// `Time Signature` token after the first `Bar` and after every `Bar` whose metre
        /// changes (docs/remi.md, "Instruments and meters"). Metres n/2, n/4, n/8 and n/16 with
        /// n up to 16 are read; any other is refused with `REMIError.unsupportedTimeSignature`.
        case follow
    }

    /// Internal resolution in ticks per beat; files are rescaled to it.
    public var ticksPerBeat: Int = 480
    /// Beats in a bar (the grid assumes every bar has this many).
    public var beatsPerBar: Int = 4
    /// Grid positions per bar (16: a sixteenth note each at 4 beats).
    public var positionsPerBar: Int = 16
    /// One duration step, in internal ticks (60: a 32nd note).
    public var durationStepTicks: Int = 60
    /// Number of duration steps: step k means (k + 1) * durationStepTicks ticks.
    public var durationSteps: Int = 64
    /// Number of velocity bins over 0...127 (bin = velocity * velocityBins / 128).
    public var velocityBins: Int = 32
    /// Contiguous tempo ranges, ascending.
    public var tempoClasses: [TempoClass] = [
        TempoClass(name: "slow", lowerBPM: 30), TempoClass(name: "mid", lowerBPM: 90),
        TempoClass(name: "fast", lowerBPM: 150),
    ]
    /// Tempo values per class, in whole bpm (each class spans this many bpm).
    public var tempoValuesPerClass: Int = 60
    /// Whether chords are recognised and written.
    public var chords: Bool = true
    /// Chord window lengths in beats, tried at every beat (the original: 4 and 2).
    public var chordWindowBeats: [Int] = [4, 2]
    /// How several tracks are combined.
    public var tracks: TrackPolicy = .merge
    /// Whether notes on the General MIDI drum channel (channel 10, index 9) are dropped.
    public var dropDrums: Bool = true
    /// What the sustain pedal does to note ends.
    public var sustainPedal: SustainPolicy = .ignore
    /// What happens to files not in 4/4.
    public var nonFourFour: MetrePolicy = .fourFourGrid
    /// Tempo assumed before the first tempo change (and when a file has none), in bpm:
    /// the Standard MIDI File default.
    public var defaultTempoBPM: Int = 120
    /// Velocity the decoder gives a `Note On` that has no `Note Velocity` right before it.
    public var decoderDefaultVelocity: Int = 64
    /// Duration step the decoder gives a `Note On` that has no `Note Duration` right after it
    /// (7: eight 32nd notes, one beat).
    public var decoderDefaultDurationStep: Int = 7
    /// Whether the control tokens are in the vocabulary (docs/control.md): a style, key and
    /// density header after every bar, and the three infilling markers. Off by default,
    /// so the seed's REMI is unchanged; the fields below are written to JSON only when it is on.
    public var controls: Bool = false
    /// The style names (composers or collections) that have a `Style` token, in id order.
    public var styles: [String] = []
    /// Notes per bar that separate the density classes `densityNames`, ascending.
    public var densityThresholds: [Double] = [18, 25]
    /// Bars before an infilling gap restated after `Infill_Middle`, so that the gap starts
    /// right after the music it follows rather than after the hint (docs/control.md). 0, the
    /// arrangement the bundled model learnt, restates none; written to JSON only when above 0.
    public var infillBridgeBars: Int = 0
    /// The values `infillBridgeBars` may take.
    public static let infillBridgeRange = 0...4
    /// With `tracks` set to `.instruments`, the track names that are parts of their own, each
    /// with its `Instrument` token (POP909: MELODY, BRIDGE, PIANO), matched without regard to
    /// case or surrounding spaces. Written to JSON only with `.instruments`.
    public var trackRoles: [String] = []

    /// The denominators a followed metre may have.
    public static let meterDenominators = [2, 4, 8, 16]
    /// The largest numerator a followed metre may have.
    public static let maximumMeterNumerator = 16

    /// The names of the density classes, one more than `densityThresholds`.
    public static let densityNames = ["sparse", "medium", "dense"]

    /// The defaults (the original REMI on one piano track).
    public init() {}

    /// The config for arrangements (docs/remi.md, "Instruments and meters"): every note with its
    /// part, the drums kept, bars that follow the file's metres; POP909's track names as roles
    /// unless others are given.
    public static func arrangement(trackRoles: [String] = ["MELODY", "BRIDGE", "PIANO"]) -> TokenizerConfig {
        var config = TokenizerConfig()
        config.tracks = .instruments
        config.trackRoles = trackRoles
        config.dropDrums = false
        config.nonFourFour = .follow
        return config
    }

    /// Ticks in a bar.
    public var ticksPerBar: Int { ticksPerBeat * beatsPerBar }
    /// Ticks in one grid step (120 by default).
    public var gridTicks: Int { ticksPerBar / positionsPerBar }
    /// Whether each note carries an `Instrument` token.
    public var hasInstruments: Bool { tracks == .instruments }
    /// Whether bars follow the file's metres (`Time Signature` tokens).
    public var followsMeters: Bool { nonFourFour == .follow }
    /// Parts with an `Instrument` token: the 128 programs, the drums, then `trackRoles`.
    public var instrumentCount: Int { hasInstruments ? 129 + trackRoles.count : 0 }
    /// The `Instrument` index of the drums (after the programs 0...127).
    public static let drumsInstrument = 128
    /// Grid positions in the longest bar: `positionsPerBar`, or with metres followed, a bar
    /// of 16 half notes.
    public var maximumPositionsPerBar: Int { followsMeters ? positionsPerBar / beatsPerBar * 32 : positionsPerBar }

    /// Grid positions in a bar of `numerator`/`denominator`.
    public func positions(numerator: Int, denominator: Int) -> Int {
        numerator * positionsPerBar * 4 / (beatsPerBar * denominator)
    }

    /// Whether `numerator`/`denominator` is a metre that bars can follow.
    public static func isSupportedMeter(numerator: Int, denominator: Int) -> Bool {
        (1...maximumMeterNumerator).contains(numerator) && meterDenominators.contains(denominator)
    }

    /// The tempos the tempo tokens can write, in beats per minute.
    public var tempoRange: ClosedRange<Int> {
        let lowest = tempoClasses.first?.lowerBPM ?? defaultTempoBPM
        return lowest...max(lowest, (tempoClasses.last?.lowerBPM ?? lowest) + tempoValuesPerClass - 1)
    }

    /// The highest tempo a config may name, in beats per minute: far above any played music,
    /// low enough that every tempo is a MIDI tempo (at least 60 µs a beat) and sums of tempos
    /// cannot overflow.
    public static let highestBPM = 1000

    /// Checks that the values fit together; throws `REMIError.invalidConfig` naming the field.
    public func validate() throws {
        func require(_ ok: Bool, _ field: String, _ reason: String) throws {
            if !ok { throw REMIError.invalidConfig(field: field, reason: reason) }
        }
        // A decoded piece is written at this resolution, and a MIDI file's is 15 bits.
        try require(ticksPerBeat > 0 && ticksPerBeat <= 32767, "ticksPerBeat", "must be 1...32767 (as a MIDI file's)")
        try require(beatsPerBar > 0 && beatsPerBar <= 64, "beatsPerBar", "must be 1...64")
        try require(
            Self.infillBridgeRange.contains(infillBridgeBars), "infillBridgeBars",
            "must be \(Self.infillBridgeRange.lowerBound)...\(Self.infillBridgeRange.upperBound)")
        try require(
            positionsPerBar > 0 && ticksPerBar % positionsPerBar == 0, "positionsPerBar",
            "must divide ticksPerBeat * beatsPerBar (\(ticksPerBar))")
        try require(
            ticksPerBeat % gridTicks == 0, "positionsPerBar",
            "must put a grid step on every beat (ticksPerBeat \(ticksPerBeat) is not a multiple of \(gridTicks))")
        // Bounded so that a step times a file's ticks per beat (the encoder's arithmetic) and
        // a longest note stay far inside 64 bits and inside a MIDI file's reach.
        try require(
            durationStepTicks > 0 && durationStepTicks <= 64 * ticksPerBeat, "durationStepTicks",
            "must be 1...\(64 * ticksPerBeat) (at most 64 beats)")
        try require(durationSteps > 0 && durationSteps <= 4096, "durationSteps", "must be 1...4096")
        try require(velocityBins > 0 && velocityBins <= 128, "velocityBins", "must be 1...128")
        try require(!tempoClasses.isEmpty, "tempoClasses", "must name at least one class")
        try require(tempoValuesPerClass > 0 && tempoValuesPerClass <= 1000, "tempoValuesPerClass", "must be 1...1000")
        try require(
            tempoClasses.allSatisfy { (1...Self.highestBPM).contains($0.lowerBPM) }, "tempoClasses",
            "must start between 1 and \(Self.highestBPM) bpm")
        for (i, c) in tempoClasses.enumerated() {
            try require(
                !c.name.isEmpty && !c.name.contains("_"), "tempoClasses",
                "names must be non-empty and have no '_' ('\(c.name)')")
            if i > 0 {
                try require(
                    c.lowerBPM == tempoClasses[i - 1].lowerBPM + tempoValuesPerClass, "tempoClasses",
                    "must be contiguous: '\(c.name)' should start at "
                        + "\(tempoClasses[i - 1].lowerBPM + tempoValuesPerClass) bpm"
                )
            }
        }
        try require(Set(tempoClasses.map(\.name)).count == tempoClasses.count, "tempoClasses", "names must differ")
        try require(
            !chordWindowBeats.isEmpty && chordWindowBeats.allSatisfy { $0 > 0 && $0 <= 64 },
            "chordWindowBeats", "must list window lengths of 1...64 beats")
        try require((1...127).contains(decoderDefaultVelocity), "decoderDefaultVelocity", "must be 1...127")
        try require(
            (0..<durationSteps).contains(decoderDefaultDurationStep), "decoderDefaultDurationStep",
            "must be 0..<durationSteps")
        try require(
            (1...Self.highestBPM).contains(defaultTempoBPM), "defaultTempoBPM", "must be 1...\(Self.highestBPM)")
        try require(controls || styles.isEmpty, "styles", "need controls on")
        try require(
            styles.allSatisfy { !$0.isEmpty && !$0.contains("_") && !$0.contains(where: \.isWhitespace) }, "styles",
            "names must be non-empty, with no '_' and no spaces")
        try require(Set(styles).count == styles.count, "styles", "names must differ")
        try require(hasInstruments || trackRoles.isEmpty, "trackRoles", "need tracks set to instruments")
        try require(
            trackRoles.allSatisfy {
                !$0.isEmpty && !$0.contains("_") && !$0.contains(where: \.isWhitespace) && Int($0) == nil
                    && $0.lowercased() != "drums"
            }, "trackRoles", "names must be non-empty, with no '_', no spaces, not a number and not 'Drums'")
        try require(
            Set(trackRoles.map { $0.lowercased() }).count == trackRoles.count, "trackRoles", "names must differ")
        try require(trackRoles.count <= 64, "trackRoles", "must list at most 64 names")
        try require(
            !followsMeters || (positionsPerBar / beatsPerBar) % 4 == 0, "positionsPerBar",
            "must give every sixteenth note a grid step when metres are followed")
        try require(styles.count <= 1000, "styles", "must list at most 1000 names")
        try require(
            densityThresholds.count == Self.densityNames.count - 1
                && zip(densityThresholds, densityThresholds.dropFirst()).allSatisfy { $0 < $1 }
                && densityThresholds.allSatisfy { $0 > 0 && $0.isFinite },
            "densityThresholds", "must be \(Self.densityNames.count - 1) ascending positive numbers")
    }

    /// The `Instrument` index of the track role a track named `name` plays (case and
    /// surrounding spaces ignored), or nil when the name is no role.
    public func rolePart(ofTrackNamed name: String) -> Int? {
        let key = name.trimmingCharacters(in: .whitespaces).lowercased()
        return trackRoles.firstIndex { $0.lowercased() == key }.map { Self.drumsInstrument + 1 + $0 }
    }

    /// The index in `styles` of the style named `name` (case-insensitive), or nil.
    public func styleIndex(named name: String) -> Int? {
        styles.firstIndex { $0.lowercased() == name.lowercased() }
    }

    /// The density class of `notesPerBar` notes in a bar (or per bar, on average).
    public func densityClass(notesPerBar: Double) -> Int {
        densityThresholds.firstIndex { notesPerBar < $0 } ?? densityThresholds.count
    }

    /// Reads a config from JSON; fields that are absent keep their defaults, and a key that is
    /// not a field is an error naming the nearest field.
    public static func load(from url: URL) throws -> TokenizerConfig {
        let data = try FileContents.data(at: url)
        try JSONKeys.requireKnown(data, known: CodingKeys.allCases.map(\.rawValue), source: url.path)
        let config: TokenizerConfig
        do {
            config = try JSONDecoder().decode(TokenizerConfig.self, from: data)
        } catch {
            throw REMIError.invalidConfig(
                field: url.lastPathComponent,
                reason: "cannot be read as a tokenizer config: \(JSONKeys.describe(error))")
        }
        try config.validate()
        return config
    }

    /// Writes the config as pretty-printed JSON with sorted keys.
    public func save(to url: URL) throws {
        try AtomicFile.write(jsonData(), to: url)
    }

    /// The config as pretty-printed JSON with sorted keys.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }

    private enum CodingKeys: String, CodingKey, CaseIterable {
        case ticksPerBeat, beatsPerBar, positionsPerBar, durationStepTicks, durationSteps, velocityBins,
            tempoClasses, tempoValuesPerClass, chords, chordWindowBeats, tracks, dropDrums, sustainPedal,
            nonFourFour, defaultTempoBPM, decoderDefaultVelocity, decoderDefaultDurationStep, controls, styles,
            densityThresholds, trackRoles, infillBridgeBars
    }

    /// Encodes every field; the control fields only when `controls` is on and the track roles
    /// only with `.instruments`, so a config without them reads and hashes exactly as before
    /// they existed.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(ticksPerBeat, forKey: .ticksPerBeat)
        try c.encode(beatsPerBar, forKey: .beatsPerBar)
        try c.encode(positionsPerBar, forKey: .positionsPerBar)
        try c.encode(durationStepTicks, forKey: .durationStepTicks)
        try c.encode(durationSteps, forKey: .durationSteps)
        try c.encode(velocityBins, forKey: .velocityBins)
        try c.encode(tempoClasses, forKey: .tempoClasses)
        try c.encode(tempoValuesPerClass, forKey: .tempoValuesPerClass)
        try c.encode(chords, forKey: .chords)
        try c.encode(chordWindowBeats, forKey: .chordWindowBeats)
        try c.encode(tracks, forKey: .tracks)
        try c.encode(dropDrums, forKey: .dropDrums)
        try c.encode(sustainPedal, forKey: .sustainPedal)
        try c.encode(nonFourFour, forKey: .nonFourFour)
        try c.encode(defaultTempoBPM, forKey: .defaultTempoBPM)
        try c.encode(decoderDefaultVelocity, forKey: .decoderDefaultVelocity)
        try c.encode(decoderDefaultDurationStep, forKey: .decoderDefaultDurationStep)
        if controls {
            try c.encode(controls, forKey: .controls)
            try c.encode(styles, forKey: .styles)
            try c.encode(densityThresholds, forKey: .densityThresholds)
            if infillBridgeBars > 0 { try c.encode(infillBridgeBars, forKey: .infillBridgeBars) }
        }
        if hasInstruments { try c.encode(trackRoles, forKey: .trackRoles) }
    }

    /// Decodes a config; any field that is absent keeps its default.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func take<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try take(.ticksPerBeat, &ticksPerBeat)
        try take(.beatsPerBar, &beatsPerBar)
        try take(.positionsPerBar, &positionsPerBar)
        try take(.durationStepTicks, &durationStepTicks)
        try take(.durationSteps, &durationSteps)
        try take(.velocityBins, &velocityBins)
        try take(.tempoClasses, &tempoClasses)
        try take(.tempoValuesPerClass, &tempoValuesPerClass)
        try take(.chords, &chords)
        try take(.chordWindowBeats, &chordWindowBeats)
        try take(.tracks, &tracks)
        try take(.dropDrums, &dropDrums)
        try take(.sustainPedal, &sustainPedal)
        try take(.nonFourFour, &nonFourFour)
        try take(.defaultTempoBPM, &defaultTempoBPM)
        try take(.decoderDefaultVelocity, &decoderDefaultVelocity)
        try take(.decoderDefaultDurationStep, &decoderDefaultDurationStep)
        try take(.controls, &controls)
        try take(.styles, &styles)
        try take(.densityThresholds, &densityThresholds)
        try take(.trackRoles, &trackRoles)
        try take(.infillBridgeBars, &infillBridgeBars)
    }
}
