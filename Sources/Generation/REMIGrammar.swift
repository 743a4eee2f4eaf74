import REMI

/// The REMI event grammar as a state machine over vocabulary ids: given the ids so far, which
/// ids may come next (see docs/remi.md, "Events, in the order they appear inside a
/// bar", and docs/generation.md).
///
/// The rules, as the encoder writes pieces:
/// - A piece starts with `Bar`. After `Bar` comes a `Position`, another `Bar` (an empty bar) or
///   `End Of Piece`.
/// - After `Position` comes exactly one item: `Chord`; `Tempo Class` then `Tempo Value`; or
///   `Note Velocity`, `Note On`, `Note Duration`.
/// - After an item comes a `Position` that does not go backwards inside the bar, a `Bar`, or
///   `End Of Piece`. At the same position the items keep the encoder's order: chord first,
///   then tempo, then notes (at most one chord and one tempo per onset).
/// - `End Of Piece` only after at least one note, so a finished piece always has music;
///   nothing follows it. `Padding` and `Start Of Piece` are never allowed.
/// - With control tokens (docs/control.md), each `Bar` may be followed by a header of at most
///   one `Style`, `Key` and `Density`, in that order, before anything else of the bar. The
///   infilling markers are never drawn (the generator places them); read in a prompt, each is
///   followed by `Bar`.
/// - With metres followed, a `Time Signature` may come right after `Bar` (before the header),
///   and a `Position` must fall inside the bar's metre (4/4 until one is read).
/// - With instruments, a note is `Instrument`, `Note Velocity`, `Note On`, `Note Duration`.
///
/// At generation (`allowed`) one more rule: a `Note On` whose pitch already sounded at the
/// current onset, on the same instrument, is masked. The encoder can write such a pair (two
/// strikes of one key quantised to one onset), so reading one is no violation; in new music it
/// is one key struck twice at once, which a synthesiser sounds once (and MIDI cannot end apart).
///
/// `advance(_:)` is total: a token the grammar forbids (sampling without the constraint) is
/// counted in `violations` and the state resynchronises on that token's own role (a stray
/// `Note On` is treated as a note that needs its duration, and so on), so the count measures
/// how often a model breaks the grammar, not how long it stays lost.
public struct REMIGrammar: Sendable {
    /// What the next token must be.
    public enum Phase: Equatable, Sendable {
        /// Nothing but header tokens read yet: the piece must open with `Bar`.
        case start
        /// Just read an infilling marker: a `Bar` must follow.
        case afterMarker
        /// Just read `Bar`.
        case afterBar
        /// Just read `Position`: an item must follow.
        case afterPosition
        /// Just read `Tempo Class`: its `Tempo Value` must follow.
        case needsTempoValue
        /// Just read `Instrument`: the note's `Note Velocity` must follow.
        case needsVelocity
        /// Just read `Note Velocity`: its `Note On` must follow.
        case needsNoteOn
        /// Just read `Note On`: its `Note Duration` must follow.
        case needsDuration
        /// An item (chord, tempo, note) is complete.
        case itemDone
        /// `End Of Piece` was read: nothing may follow.
        case ended
    }

    /// The last kind of item written at the current onset, in the encoder's order.
    enum Stage: Int, Sendable { case none = 0, chord, tempo, note }

    /// The role of each id, so a step is one array read.
    enum Role: Equatable, Sendable {
        case forbidden, endOfPiece, bar, position(Int), chord, tempoClass, tempoValue, velocity, noteOn, duration
        case instrument
        /// A header token; its rank (`REMIEvent.headerRank`) gives the order.
        case header(Int)
        /// A time signature (a header of rank 1), with the positions of its bars.
        case meter(positions: Int)
        case marker
    }

    /// Where the machine stands.
    public private(set) var phase: Phase = .start
    /// `Bar` tokens read (the current bar is `bars - 1`).
    public private(set) var bars = 0
    /// Complete notes read (`Note On` followed by its `Note Duration`).
    public private(set) var notes = 0
    /// Tokens read that the grammar did not allow at that point.
    public private(set) var violations = 0
    /// Tokens read in all.
    public private(set) var tokens = 0
    /// The grid position (0-based) of the current onset in the bar, or -1 before the first.
    public private(set) var position = -1
    private var stage = Stage.none
    /// The rank of the last header token read in the current bar (0: none; see
    /// `REMIEvent.headerRank`).
    public private(set) var headerRank = 0
    /// Grid positions in the current bar (its metre's, with metres followed).
    public private(set) var barPositions: Int
    /// Grid positions of the longest bar the vocabulary has: a bar with fewer must not reach
    /// the positions past its end.
    private let allPositions: Int

    private let roles: [Role]
    private let masks: Masks
    /// The `Note On` id of each pitch (nil where the vocabulary has none).
    private let noteOnIDs: [Int?]
    /// Each id's pitch if it is a `Note On`, its instrument if it is an `Instrument`, else -1.
    private let values: [Int]
    /// The instrument of the note being read (0 without instruments).
    private var instrument = 0
    /// The (instrument, pitch) pairs struck at the current onset, as `instrument * 128 + pitch`.
    private var struck: [Int] = []

    /// A grammar for the ids of `vocabulary`, in the start phase. With `allowsEndOfPiece`
    /// false, `End Of Piece` is never allowed (a piece then runs to its bar or token limit).
    public init(vocabulary: Vocabulary, allowsEndOfPiece: Bool = true) {
        let config = vocabulary.config
        roles = vocabulary.events.map { event in
            switch event {
            case .padding, .startOfPiece: return .forbidden
            case .endOfPiece: return .endOfPiece
            case .bar: return .bar
            case let .position(p): return .position(p)
            case .chord: return .chord
            case .tempoClass: return .tempoClass
            case .tempoValue: return .tempoValue
            case .velocity: return .velocity
            case .noteOn: return .noteOn
            case .duration: return .duration
            case .style, .key, .density: return .header(event.headerRank)
            case .fillSuffix, .fillMiddle, .fillEnd: return .marker
            case .instrument: return .instrument
            case let .timeSignature(n, d): return .meter(positions: config.positions(numerator: n, denominator: d))
            }
        }
        var noteOnIDs = [Int?](repeating: nil, count: 128)
        values = vocabulary.events.enumerated().map { id, event in
            switch event {
            case let .noteOn(pitch):
                if (0..<128).contains(pitch) { noteOnIDs[pitch] = id }
                return pitch
            case let .instrument(index): return index
            default: return -1
            }
        }
        self.noteOnIDs = noteOnIDs
        barPositions = config.positionsPerBar
        allPositions = config.maximumPositionsPerBar
        masks = Masks(
            roles: roles, positions: config.maximumPositionsPerBar, instruments: config.hasInstruments,
            allowsEndOfPiece: allowsEndOfPiece)
    }

    /// Number of ids (the length of every mask).
    public var vocabularySize: Int { roles.count }

    /// `mask[id]` is true when `id` may come next. Precomputed per state; only a bar shorter
    /// than the longest (with metres followed) costs a copy to close its last positions.
    public var allowed: [Bool] {
        var mask = precomputed
        if phase == .needsNoteOn {
            for key in struck where key / 128 == instrument {
                if let id = noteOnIDs[key % 128] { mask[id] = false }
            }
        }
        guard closesPositions else { return mask }
        for (id, p) in masks.positionIDs where p >= barPositions { mask[id] = false }
        return mask
    }

    /// The precomputed mask of the current state, before the bar's metre closes its last
    /// positions (`closesPositions`).
    private var precomputed: [Bool] {
        switch phase {
        case .start: return masks.barOnly
        case .afterMarker: return masks.barOnly
        case .afterBar: return masks.afterBar[headerRank][notes > 0 ? 1 : 0]
        case .afterPosition: return masks.afterPosition[stage.rawValue]
        case .needsTempoValue: return masks.tempoValue
        case .needsVelocity: return masks.velocity
        case .needsNoteOn: return masks.noteOn
        case .needsDuration: return masks.duration
        case .itemDone: return masks.itemDone[max(min(position, allPositions - 1), 0)][notes > 0 ? 1 : 0]
        case .ended: return masks.nothing
        }
    }

    /// Whether positions past the end of the current bar must be closed: in a state that allows
    /// positions, in a bar shorter than the longest.
    private var closesPositions: Bool {
        barPositions < allPositions && (phase == .afterBar || phase == .itemDone)
    }

    /// Whether `id` may come next; reads one entry, without building the mask.
    public func allows(_ id: Int) -> Bool {
        guard id >= 0 && id < roles.count && precomputed[id] else { return false }
        if closesPositions, case let .position(p) = roles[id] { return p < barPositions }
        return true
    }

    /// Whether the machine is at a boundary where the piece could stop cleanly (no item is
    /// half written).
    public var isAtItemBoundary: Bool {
        switch phase {
        case .start, .afterMarker, .afterBar, .itemDone, .ended: return true
        default: return false
        }
    }

    /// Reads one id (any id, allowed or not; see the type's note on violations).
    public mutating func advance(_ id: Int) {
        if !allows(id) { violations += 1 }
        tokens += 1
        guard id >= 0 && id < roles.count else { return }
        switch roles[id] {
        case .forbidden:
            break
        case let .header(rank):
            headerRank = rank
            if phase != .afterBar && phase != .start { phase = .afterBar }
        case let .meter(positions):
            headerRank = 1
            barPositions = positions
            if phase != .afterBar && phase != .start { phase = .afterBar }
        case .instrument:
            instrument = values[id]
            phase = .needsVelocity
        case .marker:
            position = -1
            stage = .none
            struck.removeAll()
            phase = .afterMarker
        case .endOfPiece:
            phase = .ended
        case .bar:
            bars += 1
            headerRank = 0
            position = -1
            stage = .none
            struck.removeAll()
            phase = .afterBar
        case let .position(p):
            if p != position {
                stage = .none
                struck.removeAll()
            }
            position = p
            phase = .afterPosition
        case .chord:
            stage = .chord
            phase = .itemDone
        case .tempoClass:
            phase = .needsTempoValue
        case .tempoValue:
            stage = .tempo
            phase = .itemDone
        case .velocity:
            phase = .needsNoteOn
        case .noteOn:
            if values[id] >= 0 { struck.append(instrument * 128 + values[id]) }
            phase = .needsDuration
        case .duration:
            if phase == .needsDuration { notes += 1 }
            stage = .note
            phase = .itemDone
        }
    }

    /// Reads every id of `ids` in order.
    public mutating func advance<S: Sequence>(through ids: S) where S.Element == Int {
        for id in ids { advance(id) }
    }

    /// The masks of every state, built once per vocabulary.
    struct Masks: Sendable {
        let barOnly, tempoValue, velocity, noteOn, duration, nothing: [Bool]
        /// Each `Position` id with its position.
        let positionIDs: [(id: Int, position: Int)]
        /// Indexed by the rank of the last header token read in the bar, then by whether End Of
        /// Piece is allowed (0 or 1).
        let afterBar: [[[Bool]]]
        /// Indexed by the stage at the current onset.
        let afterPosition: [[Bool]]
        /// Indexed by the current position, then by whether End Of Piece is allowed (0 or 1).
        let itemDone: [[[Bool]]]

        init(roles: [Role], positions: Int, instruments: Bool, allowsEndOfPiece: Bool) {
            func mask(_ allow: (Role) -> Bool) -> [Bool] { roles.map(allow) }
            barOnly = mask { $0 == .bar }
            positionIDs = roles.enumerated().compactMap { id, role in
                if case let .position(p) = role { (id, p) } else { nil }
            }
            afterBar = (0...REMIEvent.maximumHeaderRank).map { read in
                [false, true].map { endAllowed in
                    mask { role in
                        if case let .header(rank) = role { return rank > read }
                        if case .meter = role { return read == 0 }
                        return role == .bar || (role == .endOfPiece && endAllowed && allowsEndOfPiece)
                            || role.isPosition
                    }
                }
            }
            tempoValue = mask { $0 == .tempoValue }
            velocity = mask { $0 == .velocity }
            noteOn = mask { $0 == .noteOn }
            duration = mask { $0 == .duration }
            nothing = mask { _ in false }
            afterPosition = [Stage.none, .chord, .tempo, .note].map { stage in
                mask { role in
                    switch role {
                    case .chord: return stage.rawValue < Stage.chord.rawValue
                    case .tempoClass: return stage.rawValue < Stage.tempo.rawValue
                    case .velocity: return !instruments
                    case .instrument: return true
                    default: return false
                    }
                }
            }
            itemDone = (0..<positions).map { current in
                [false, true].map { endAllowed in
                    mask { role in
                        switch role {
                        case .bar: return true
                        case .endOfPiece: return endAllowed && allowsEndOfPiece
                        case let .position(p): return p >= current
                        default: return false
                        }
                    }
                }
            }
        }
    }
}

extension REMIGrammar.Role {
    var isPosition: Bool { if case .position = self { return true } else { return false } }
}
