import Basics
import Foundation

/// The fixed REMI event space, enumerated in a stable order, with the special tokens.
///
/// Ids, in this order (counts for the default config, 368 in all):
///
/// | ids | events |
/// |---|---|
/// | 0, 1, 2 | `Padding`, `Start Of Piece`, `End Of Piece` |
/// | 3 | `Bar` |
/// | 4...19 | `Position 1/16` ... `Position 16/16` |
/// | 20...80 | `Chord N:N`, then roots C...B, each maj, min, dim, aug, dom |
/// | 81...83 | `Tempo Class` slow, mid, fast |
/// | 84...143 | `Tempo Value 0` ... `59` |
/// | 144...175 | `Note Velocity 0` ... `31` |
/// | 176...303 | `Note On 0` ... `127` |
/// | 304...367 | `Note Duration 0` ... `63` |
///
/// With `TokenizerConfig.controls` on, the control tokens follow (docs/control.md): one
/// `Style` per style name, 24 `Key`, 3 `Density`, then `Infill_Suffix`, `Infill_Middle`,
/// `Infill_End`. With metres followed, the positions of longer bars (`Position 17/16` ...) and
/// one `Time Signature` per metre (numerators 1...16 over 2, 4, 8, 16) come next; with
/// instruments, one `Instrument` per General MIDI program, the drums, and each track role. The
/// REMI ids before them are the same with or without these, so a model trained without them
/// can be fine-tuned with them.
///
/// The whole space is present whether or not a corpus uses it (the original built its
/// dictionary from the training data), so ids never depend on the data. The vocabulary is
/// derived from a `TokenizerConfig` and saved as JSON with it.
public struct Vocabulary: Equatable, Sendable {
    /// The config the event space is derived from.
    public let config: TokenizerConfig
    /// Every event, indexed by id.
    public let events: [REMIEvent]

    private let barID: Int, positionBase: Int, chordBase: Int, tempoClassBase: Int,
        tempoValueBase: Int, velocityBase: Int, noteOnBase: Int, durationBase: Int, styleBase: Int, keyBase: Int,
        densityBase: Int, fillBase: Int, extraPositionBase: Int, meterBase: Int, instrumentBase: Int

    /// Id of the padding token (always 0).
    public let paddingID = 0
    /// Id of the start-of-piece token (always 1).
    public let startOfPieceID = 1
    /// Id of the end-of-piece token (always 2).
    public let endOfPieceID = 2

    /// Builds the event space of `config`; throws `REMIError.invalidConfig` if the config is bad.
    public init(config: TokenizerConfig = TokenizerConfig()) throws {
        try config.validate()
        self.config = config
        var events: [REMIEvent] = [.padding, .startOfPiece, .endOfPiece]
        barID = events.count
        events.append(.bar)
        positionBase = events.count
        events += (0..<config.positionsPerBar).map { .position($0) }
        chordBase = events.count
        if config.chords { events += ChordLabel.all.map { .chord($0) } }
        tempoClassBase = events.count
        events += config.tempoClasses.indices.map { .tempoClass($0) }
        tempoValueBase = events.count
        events += (0..<config.tempoValuesPerClass).map { .tempoValue($0) }
        velocityBase = events.count
        events += (0..<config.velocityBins).map { .velocity($0) }
        noteOnBase = events.count
        events += (0..<128).map { .noteOn($0) }
        durationBase = events.count
        events += (0..<config.durationSteps).map { .duration($0) }
        styleBase = events.count
        if config.controls { events += config.styles.indices.map { .style($0) } }
        keyBase = events.count
        if config.controls { events += (0..<MusicalKey.count).map { .key($0) } }
        densityBase = events.count
        if config.controls { events += TokenizerConfig.densityNames.indices.map { .density($0) } }
        fillBase = events.count
        if config.controls { events += [.fillSuffix, .fillMiddle, .fillEnd] }
        extraPositionBase = events.count
        events += (config.positionsPerBar..<config.maximumPositionsPerBar).map { .position($0) }
        meterBase = events.count
        if config.followsMeters {
            for n in 1...TokenizerConfig.maximumMeterNumerator {
                events += TokenizerConfig.meterDenominators.map { .timeSignature(numerator: n, denominator: $0) }
            }
        }
        instrumentBase = events.count
        events += (0..<config.instrumentCount).map { .instrument($0) }
        self.events = events
        // Computed once: every token file written or read, and every cache entry, checks it.
        fingerprint = FNV1a.hash((try? jsonData()) ?? Data())
    }

    /// Number of ids.
    public var count: Int { events.count }

    /// A 64-bit hash (FNV-1a) of the vocabulary's JSON, which holds its tokenizer config too:
    /// token files record it so that they are never decoded with another vocabulary.
    public private(set) var fingerprint: UInt64 = 0

    /// Whether the file at `url` holds a vocabulary other than this one (or one that does not
    /// read): token files written beside it would not decode with it. False when there is none.
    public func differs(fromFileAt url: URL) -> Bool {
        FileManager.default.fileExists(atPath: url.path)
            && (try? Vocabulary.load(from: url))?.fingerprint != fingerprint
    }

    /// The id of `event`, or nil when its value is outside this event space.
    @inline(__always)
    public func id(for event: REMIEvent) -> Int? {
        func within(_ v: Int, _ n: Int, _ base: Int) -> Int? { v >= 0 && v < n ? base + v : nil }
        switch event {
        case .padding: return paddingID
        case .startOfPiece: return startOfPieceID
        case .endOfPiece: return endOfPieceID
        case .bar: return barID
        case let .position(p):
            if p >= config.positionsPerBar {
                return within(
                    p - config.positionsPerBar, config.maximumPositionsPerBar - config.positionsPerBar,
                    extraPositionBase)
            }
            return within(p, config.positionsPerBar, positionBase)
        case let .chord(label):
            guard config.chords else { return nil }
            switch label {
            case .noChord: return chordBase
            case let .chord(root, quality):
                guard (0..<12).contains(root), let q = ChordQuality.allCases.firstIndex(of: quality) else { return nil }
                return chordBase + 1 + root * ChordQuality.allCases.count + q
            }
        case let .tempoClass(c): return within(c, config.tempoClasses.count, tempoClassBase)
        case let .tempoValue(v): return within(v, config.tempoValuesPerClass, tempoValueBase)
        case let .velocity(b): return within(b, config.velocityBins, velocityBase)
        case let .noteOn(p): return within(p, 128, noteOnBase)
        case let .duration(d): return within(d, config.durationSteps, durationBase)
        case let .style(s): return config.controls ? within(s, config.styles.count, styleBase) : nil
        case let .key(k): return config.controls ? within(k, MusicalKey.count, keyBase) : nil
        case let .density(d):
            return config.controls ? within(d, TokenizerConfig.densityNames.count, densityBase) : nil
        case .fillSuffix: return config.controls ? fillBase : nil
        case .fillMiddle: return config.controls ? fillBase + 1 : nil
        case .fillEnd: return config.controls ? fillBase + 2 : nil
        case let .instrument(i): return within(i, config.instrumentCount, instrumentBase)
        case let .timeSignature(n, d):
            guard config.followsMeters, TokenizerConfig.isSupportedMeter(numerator: n, denominator: d),
                let k = TokenizerConfig.meterDenominators.firstIndex(of: d)
            else { return nil }
            return meterBase + (n - 1) * TokenizerConfig.meterDenominators.count + k
        }
    }

    /// The id of the style named `name` (case-insensitive), or nil when there is none.
    public func styleID(named name: String) -> Int? {
        config.styleIndex(named: name).flatMap { id(for: .style($0)) }
    }

    /// The name of `Instrument` index `i` in token names: the program number, `Drums`, or the
    /// track role.
    public func instrumentName(_ i: Int) -> String {
        if i == TokenizerConfig.drumsInstrument { return "Drums" }
        let role = i - TokenizerConfig.drumsInstrument - 1
        return config.trackRoles.indices.contains(role) ? config.trackRoles[role] : "\(i)"
    }

    /// The event with this id, or nil for an id outside 0..<count.
    @inline(__always)
    public func event(for id: Int) -> REMIEvent? {
        id >= 0 && id < events.count ? events[id] : nil
    }

    /// The event's name in the original's spelling, as in the golden files:
    /// `Bar_None`, `Position_9/16`, `Chord_G:maj`, `Tempo Class_mid`, `Tempo Value_30`,
    /// `Note Velocity_13`, `Note On_59`, `Note Duration_9`; specials `Padding_None`,
    /// `Start Of Piece_None`, `End Of Piece_None`.
    public func name(of event: REMIEvent) -> String {
        let (kind, value) = parts(of: event)
        return "\(kind)_\(value ?? "None")"
    }

    /// The event as the seed printed it: `Bar`, `Position 9/16`, `Chord G:maj`, `Tempo Class mid`.
    public func readableName(of event: REMIEvent) -> String {
        let (kind, value) = parts(of: event)
        return value.map { "\(kind) \($0)" } ?? kind
    }

    private func parts(of event: REMIEvent) -> (String, String?) {
        switch event {
        case .padding: return ("Padding", nil)
        case .startOfPiece: return ("Start Of Piece", nil)
        case .endOfPiece: return ("End Of Piece", nil)
        case .bar: return ("Bar", nil)
        case let .position(p): return ("Position", "\(p + 1)/\(config.positionsPerBar)")
        case let .chord(label): return ("Chord", label.name)
        case let .tempoClass(c):
            return ("Tempo Class", config.tempoClasses.indices.contains(c) ? config.tempoClasses[c].name : "\(c)")
        case let .tempoValue(v): return ("Tempo Value", "\(v)")
        case let .velocity(b): return ("Note Velocity", "\(b)")
        case let .noteOn(p): return ("Note On", "\(p)")
        case let .duration(d): return ("Note Duration", "\(d)")
        case let .style(s): return ("Style", config.styles.indices.contains(s) ? config.styles[s] : "\(s)")
        case let .key(k): return ("Key", MusicalKey(index: k)?.name ?? "\(k)")
        case let .density(d):
            return (
                "Density", TokenizerConfig.densityNames.indices.contains(d) ? TokenizerConfig.densityNames[d] : "\(d)"
            )
        case .fillSuffix: return ("Infill", "Suffix")
        case .fillMiddle: return ("Infill", "Middle")
        case .fillEnd: return ("Infill", "End")
        case let .instrument(i): return ("Instrument", instrumentName(i))
        case let .timeSignature(n, d): return ("Time Signature", "\(n)/\(d)")
        }
    }

    // MARK: JSON

    private struct File: Codable {
        var format: String
        var version: Int
        var config: TokenizerConfig
        var tokens: [String]
    }
    private static let formatName = "cadenza-remi-vocabulary"

    /// The vocabulary as JSON: `{"format": "cadenza-remi-vocabulary", "version": 1,
    /// "config": {...}, "tokens": ["Padding_None", ...]}`, token names listed by id.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(
            File(
                format: Self.formatName, version: 1, config: config,
                tokens: events.map { name(of: $0) }))
    }

    /// Writes `jsonData()` to `url`, whole or not at all (`AtomicFile`).
    public func save(to url: URL) throws {
        try AtomicFile.write(jsonData(), to: url)
    }

    /// Reads a vocabulary saved by `save(to:)`. The event space is rebuilt from the saved
    /// config and must list exactly the saved token names, so a model never meets ids that
    /// mean something else than when it was trained.
    public static func load(from url: URL) throws -> Vocabulary {
        let data: Data
        do { data = try FileContents.data(at: url) } catch {
            throw REMIError.invalidVocabulary(token: nil, reason: "\(error)")
        }
        do {
            return try load(jsonData: data)
        } catch REMIError.invalidVocabulary(let token, let reason) {
            throw REMIError.invalidVocabulary(token: token, reason: "\(url.path): \(reason)")
        }
    }

    /// Reads a vocabulary from JSON bytes (see `load(from:)`).
    public static func load(jsonData: Data) throws -> Vocabulary {
        let file: File
        do {
            file = try JSONDecoder().decode(File.self, from: jsonData)
        } catch {
            throw REMIError.invalidVocabulary(
                token: nil, reason: "not a vocabulary JSON file: \(JSONKeys.describe(error))")
        }
        guard file.format == formatName else {
            throw REMIError.invalidVocabulary(
                token: nil, reason: "format is '\(file.format)', expected '\(formatName)'")
        }
        guard file.version == 1 else {
            throw REMIError.invalidVocabulary(
                token: nil, reason: "version \(file.version) is not supported (expected 1)")
        }
        let vocabulary = try Vocabulary(config: file.config)
        guard file.tokens.count == vocabulary.count else {
            throw REMIError.invalidVocabulary(
                token: nil,
                reason: "lists \(file.tokens.count) tokens but its config gives \(vocabulary.count)")
        }
        for (id, token) in file.tokens.enumerated() where token != vocabulary.name(of: vocabulary.events[id]) {
            throw REMIError.invalidVocabulary(
                token: token,
                reason: "id \(id) should be '\(vocabulary.name(of: vocabulary.events[id]))'")
        }
        return vocabulary
    }
}
