import Models
import REMI

/// A chord asked for at a grid position of a bar.
public struct PlannedChord: Equatable, Sendable {
    /// The grid position (0-based) in the bar.
    public var position: Int
    /// The chord.
    public var label: ChordLabel

    /// A chord at `position`.
    public init(position: Int, label: ChordLabel) {
        self.position = position
        self.label = label
    }
}

/// What the user asks of the new music beyond the model's own choices (docs/control.md):
/// the generator forces the tokens that say it, and the model writes the rest.
public struct Steering: Equatable, Sendable {
    /// The chords of each new bar, in order; the list repeats to fill the bars. Empty: the
    /// model writes its own chords. When it is set, the model writes no other chord.
    public var chords: [[PlannedChord]]
    /// A tempo in bpm: any tempo the model writes is this one, and the first new bar opens with
    /// it (`openingWithTempo`, after generation). nil: the model's own.
    public var tempoBPM: Int?
    /// Control tokens (`Style`, `Key`, `Density`, in that order) forced after every new `Bar`.
    /// The kinds not listed are left to the model.
    public var header: [REMIEvent] = []
    /// Whether the new music fills an infilling gap: it opens with a `Bar` and ends with
    /// `Infill_End` once the stop condition's bars are written, and only then.
    public var fillsGap: Bool
    /// Whether the new music opens with a `Bar`: a continuation adds nothing to the prompt's
    /// last bar, which it keeps as it is.
    public var opensNewBar = false
    /// How firmly new notes keep to the asked harmony: a penalty, in nats, on the
    /// log-probability of every pitch outside the chord in force (with `chords`) or outside the
    /// scale of the asked key (a `Key` in `header`, without chords). The tokens alone steer the
    /// model only loosely (docs/control.md, "Guidance"); 0 leaves it to them, `.infinity` allows
    /// chord or scale tones only.
    public var harmonyGuidance: Float = 0
    /// Parts (`Instrument` indices) that must play: from new bar `partsEnterBy` on, a part
    /// that has not played yet takes the next note the model writes, one part at a time, and
    /// that bar does not close before all have played, so that a piece of a few bars is not all
    /// introduction. Empty: the model's own choice.
    public var requiredParts: [Int] = []
    /// The new bar (1-based) by which every one of `requiredParts` has entered.
    public var partsEnterBy = 2

    /// Steering; nothing is asked by default.
    public init(chords: [[PlannedChord]] = [], tempoBPM: Int? = nil, fillsGap: Bool = false) {
        self.chords = chords
        self.tempoBPM = tempoBPM
        self.fillsGap = fillsGap
    }

    /// Whether anything is asked.
    public var isEmpty: Bool {
        chords.isEmpty && tempoBPM == nil && !fillsGap && !opensNewBar && header.isEmpty && requiredParts.isEmpty
    }

    /// The `Tempo Class` and `Tempo Value` ids of `tempoBPM` in `tokenizer`'s vocabulary.
    func tempoIDs(tokenizer: REMITokenizer) -> (classID: Int, valueID: Int)? {
        guard let bpm = tempoBPM else { return nil }
        let (c, v) = tokenizer.tempoClassAndValue(bpm: bpm)
        guard let classID = tokenizer.vocabulary.id(for: .tempoClass(c)),
            let valueID = tokenizer.vocabulary.id(for: .tempoValue(v))
        else { return nil }
        return (classID, valueID)
    }

    /// `ids` (new music, from the `Bar` that opens its first bar) with the first bar opening
    /// with `tempoBPM`: `Position`, `Tempo Class`, `Tempo Value` after that bar's header and
    /// any chord at its first position, as the tokenizer writes a tempo; unchanged when the
    /// model wrote a tempo there itself (the steering made it this one) or nothing is asked.
    ///
    /// The tempo is written after the model, not forced on it: tempo tokens appear in the
    /// music it learnt from where a piece begins or its tempo changes, so a bar that opened
    /// with one was written as a piece's first bar, mostly rests or a pickup (docs/control.md).
    public func openingWithTempo(_ ids: [Int], tokenizer: REMITokenizer) -> [Int] {
        guard let tempo = tempoIDs(tokenizer: tokenizer) else { return ids }
        let vocabulary = tokenizer.vocabulary
        guard let first = ids.firstIndex(where: { vocabulary.event(for: $0) == .bar }) else { return ids }
        var at = first + 1
        while at < ids.count, let event = vocabulary.event(for: ids[at]), event.headerRank > 0 { at += 1 }
        // Chords at the first position come before a tempo there; a tempo the model wrote there
        // is the asked one already.
        while at + 1 < ids.count, vocabulary.event(for: ids[at]) == .position(0) {
            if case .tempoClass? = vocabulary.event(for: ids[at + 1]) { return ids }
            guard case .chord? = vocabulary.event(for: ids[at + 1]) else { break }
            at += 2
        }
        return Array(ids[..<at]) + [vocabulary.id(for: .position(0)) ?? 0, tempo.classID, tempo.valueID] + ids[at...]
    }

    /// Reads a progression as `--chords` takes it: bars separated by spaces (or `|`), chords
    /// inside a bar by commas, each in REMI's names (`C:maj`, `F#:min`, `G:dom`, `N:N`). A bar
    /// of n chords puts them on evenly spaced beats (two in 4/4: beats 1 and 3).
    public static func chords(parsing text: String, config: TokenizerConfig) throws -> [[PlannedChord]] {
        let gridPerBeat = config.positionsPerBar / config.beatsPerBar
        return try chordLabels(parsing: text).map { labels in
            guard labels.count <= config.beatsPerBar else {
                throw GenerationError.invalidControl(
                    name: "chords",
                    reason: "'\(shortened(labels.map(\.name).joined(separator: ",")))' has more chords than the "
                        + "\(config.beatsPerBar) beats of a bar")
            }
            return labels.enumerated().map { i, label in
                PlannedChord(position: i * config.beatsPerBar / labels.count * gridPerBeat, label: label)
            }
        }
    }

    /// `text` as an error message quotes it: at most 40 characters (a request may hold
    /// thousands).
    private static func shortened(_ text: String) -> String {
        text.count > 40 ? text.prefix(40) + "..." : text
    }

    /// A progression's chords as written, bar by bar (bars apart by spaces or `|`, a bar's
    /// chords by commas), before any model's meter places them: what can be checked of
    /// `--chords` without a model.
    /// - Throws: `GenerationError.invalidControl` for an empty progression or a name that is not
    ///   a chord.
    public static func chordLabels(parsing text: String) throws -> [[ChordLabel]] {
        let bars = text.split { $0 == " " || $0 == "|" || $0 == "\t" }
        guard !bars.isEmpty else { throw GenerationError.invalidControl(name: "chords", reason: "no chord given") }
        return try bars.map { bar in
            try bar.split(separator: ",", omittingEmptySubsequences: false).map { name in
                guard let label = ChordLabel(name: String(name)) else {
                    throw GenerationError.invalidControl(
                        name: "chords",
                        reason: "'\(shortened(String(name)))' is not a chord name: write a root (C, C#, D ... B; "
                            + "sharps only) and a quality (\(ChordQuality.allCases.map(\.rawValue).joined(separator: ", "))), "
                            + "as in C:maj or F#:min, or N:N for no chord")
                }
                return label
            }
        }
    }

    /// The named parts of `config` (its track roles), as `requiredParts` takes them.
    public static func namedParts(of config: TokenizerConfig) -> [Int] {
        config.hasInstruments ? config.trackRoles.indices.map { TokenizerConfig.drumsInstrument + 1 + $0 } : []
    }

    /// The most the guidance raises a defining tone of the harmony in force (the chord's root
    /// and third, or the key's tonic triad) that its span has not struck yet, in nats
    /// (docs/control.md, "Guidance").
    static let definingToneBonus: Float = 2

    /// The pitch classes of `label` as a 12-bit set (bit 0: C), from the recogniser's templates
    /// (docs/remi.md); nil for `N:N`.
    public static func pitchClasses(of label: ChordLabel) -> Int? {
        guard case let .chord(root, quality) = label else { return nil }
        let intervals: [Int]
        switch quality {
        case .major: intervals = [0, 4, 7]
        case .minor: intervals = [0, 3, 7]
        case .diminished: intervals = [0, 3, 6]
        case .augmented: intervals = [0, 4, 8]
        case .dominant: intervals = [0, 4, 7, 10]
        }
        return intervals.reduce(0) { $0 | 1 << ((root + $1) % 12) }
    }

    /// The scale of `key` as a 12-bit set: major, or minor with both its sixth and seventh
    /// degrees raised and natural (the harmonic and melodic forms a piece in minor uses).
    public static func pitchClasses(of key: MusicalKey) -> Int {
        let intervals = key.isMinor ? [0, 2, 3, 5, 7, 8, 9, 10, 11] : [0, 2, 4, 5, 7, 9, 11]
        return intervals.reduce(0) { $0 | 1 << ((key.tonic + $1) % 12) }
    }

    /// The pitch classes the notes at grid `position` of new bar `bar` (1-based) keep to, as a
    /// 12-bit set: the last asked chord at or before `position`, else the asked key's scale;
    /// nil where nothing is asked (or the chord is `N:N`).
    func harmony(inBar bar: Int, at position: Int) -> Int? {
        if !chords.isEmpty { return chordInForce(inBar: bar, at: position).flatMap { Self.pitchClasses(of: $0.label) } }
        return askedKey.map(Self.pitchClasses(of:))
    }

    /// The last asked chord at or before grid `position` of new bar `bar` (1-based), with its
    /// index in that bar's plan; nil without chords, before the bar's first, or before bar 1.
    func chordInForce(inBar bar: Int, at position: Int) -> (index: Int, label: ChordLabel)? {
        guard !chords.isEmpty, bar >= 1 else { return nil }
        let plan = chords[(bar - 1) % chords.count]
        return plan.lastIndex { $0.position <= position }.map { ($0, plan[$0].label) }
    }

    /// The key asked in `header` (the first `Key` there), if any.
    var askedKey: MusicalKey? {
        for case let .key(index) in header { return MusicalKey(index: index) }
        return nil
    }

    /// The tones the recogniser needs to hear to name `label` (docs/remi.md): root and third,
    /// and the tone that sets the quality apart (the diminished fifth, the augmented fifth, the
    /// fifth and seventh of a dominant seventh); a 12-bit set, nil for `N:N`. A major or minor
    /// fifth alone tells nothing: C-G is no chord, E-G is E minor.
    public static func definingPitchClasses(of label: ChordLabel) -> Int? {
        guard case let .chord(root, quality) = label else { return nil }
        let intervals: [Int]
        switch quality {
        case .major: intervals = [0, 4]
        case .minor: intervals = [0, 3]
        case .diminished: intervals = [0, 3, 6]
        case .augmented: intervals = [0, 4, 8]
        case .dominant: intervals = [0, 4, 7, 10]
        }
        return intervals.reduce(0) { $0 | 1 << ((root + $1) % 12) }
    }

    /// The span of harmony in force at grid `position` of new bar `bar` (1-based), as the
    /// bar and an index within it, and the tones that define it: the asked chord's
    /// (`definingPitchClasses`), or without chords the asked key's tonic triad in every bar
    /// (what tells a key from its relative, which shares its scale). nil where nothing is asked.
    func definingSpan(inBar bar: Int, at position: Int) -> (bar: Int, index: Int, tones: Int)? {
        guard bar >= 1 else { return nil }
        if !chords.isEmpty {
            guard let chord = chordInForce(inBar: bar, at: position),
                let tones = Self.definingPitchClasses(of: chord.label)
            else { return nil }
            return (bar, chord.index, tones)
        }
        guard let key = askedKey else { return nil }
        let triad = ChordLabel.chord(root: key.tonic, quality: key.isMinor ? .minor : .major)
        return (bar, 0, Self.pitchClasses(of: triad) ?? 0)
    }

    /// Where the chord in force at `position` of new bar `bar` gives way: the position of the
    /// next asked chord (`positionsPerBar` for the next bar's first), and that chord's pitch
    /// classes (nil for `N:N`). nil without chords.
    func nextChange(inBar bar: Int, at position: Int, positionsPerBar: Int) -> (position: Int, harmony: Int?)? {
        guard !chords.isEmpty, bar >= 1 else { return nil }
        if let next = chords[(bar - 1) % chords.count].first(where: { $0.position > position }) {
            return (next.position, Self.pitchClasses(of: next.label))
        }
        guard let first = chords[bar % chords.count].first else { return nil }
        return (positionsPerBar + first.position, Self.pitchClasses(of: first.label))
    }
}

/// The steering of one generation as it runs: which forced token is next.
struct SteeringState {
    let steering: Steering
    let vocabulary: Vocabulary
    let chordIDs: Set<Int>
    /// Each `Note On` id with its pitch.
    let noteOns: [(id: Int, pitch: Int)]
    /// Each `Note Duration` id with its length in ticks.
    let durations: [(id: Int, ticks: Int)]
    /// The pitch of the last `Note On` drawn.
    var lastPitch: Int?
    /// The parts that have played a note so far.
    var playedParts: Set<Int> = []
    let tempo: (classID: Int, valueID: Int)?
    /// The new bar the plan was last read for, and how many of its chords are written.
    var planBar = 0
    var chordsWritten = 0
    /// The span of harmony the last notes fell in (`Steering.definingSpan`), and the pitch
    /// classes struck in it so far.
    var soundedSpan: (bar: Int, index: Int)?
    var sounded = 0

    init(steering: Steering, tokenizer: REMITokenizer) {
        self.steering = steering
        let vocabulary = tokenizer.vocabulary
        self.vocabulary = vocabulary
        chordIDs = Set(
            vocabulary.events.indices.filter { if case .chord = vocabulary.events[$0] { true } else { false } })
        noteOns = vocabulary.events.enumerated().compactMap { id, event in
            if case let .noteOn(pitch) = event { (id, pitch) } else { nil }
        }
        let stepTicks = vocabulary.config.durationStepTicks
        durations = vocabulary.events.enumerated().compactMap { id, event in
            if case let .duration(step) = event { (id, (step + 1) * stepTicks) } else { nil }
        }
        tempo = steering.tempoIDs(tokenizer: tokenizer)
    }

    /// The chord still to write in new bar `bar` (1-based), if any.
    mutating func pendingChord(inBar bar: Int) -> PlannedChord? {
        guard bar >= 1, !steering.chords.isEmpty else { return nil }
        if bar != planBar { planBar = bar; chordsWritten = 0 }
        let plan = steering.chords[(bar - 1) % steering.chords.count]
        return chordsWritten < plan.count ? plan[chordsWritten] : nil
    }

    /// Narrows `mask` (the grammar's, or all true) to what the steering allows next.
    mutating func constrain(_ mask: inout [Bool], grammar: REMIGrammar, newBars: Int, gapBars: Int?) {
        func force(_ id: Int?) {
            guard let id, id >= 0, id < mask.count else { return }
            for i in mask.indices { mask[i] = false }
            mask[id] = true
        }
        if let fill = vocabulary.id(for: .fillEnd) { mask[fill] = false }
        if steering.chords.isEmpty == false { for id in chordIDs { mask[id] = false } }
        if (steering.fillsGap || steering.opensNewBar) && newBars == 0 {
            // The new music starts at a bar line: nothing may be added to the bar before it.
            force(vocabulary.id(for: .bar))
            return
        }
        let pending = pendingChord(inBar: newBars)
        if grammar.phase == .afterBar && newBars >= 1,
            let next = steering.header.first(where: { $0.headerRank > grammar.headerRank })
        {
            force(vocabulary.id(for: next))
            return
        }
        let anyPartMissing = steering.requiredParts.contains { !playedParts.contains($0) }
        let partMissing = anyPartMissing && newBars >= steering.partsEnterBy
        // The piece may not end before every part has played, nor that bar close.
        if anyPartMissing { mask[vocabulary.endOfPieceID] = false }
        switch grammar.phase {
        case .afterBar, .itemDone:
            if partMissing, let bar = vocabulary.id(for: .bar) { mask[bar] = false }
            if let pending {
                // Nothing may pass the chord's position before it is written.
                for (id, event) in vocabulary.events.enumerated() {
                    switch event {
                    case let .position(p) where p > pending.position: mask[id] = false
                    case .bar, .endOfPiece: mask[id] = false
                    default: break
                    }
                }
            } else if steering.fillsGap, let gapBars, newBars == gapBars, newBars >= 1,
                let fill = vocabulary.id(for: .fillEnd)
            {
                mask[fill] = true
            }
        case .afterPosition:
            if let pending, grammar.position == pending.position {
                force(vocabulary.id(for: .chord(pending.label)))
            } else if partMissing, let missing = steering.requiredParts.first(where: { !playedParts.contains($0) }),
                let id = vocabulary.id(for: .instrument(missing)), mask[id]
            {
                // A note at this onset, by the first part that has not played yet.
                force(id)
            } else if let tempo {
                for (id, event) in vocabulary.events.enumerated() {
                    if case .tempoClass = event, id != tempo.classID { mask[id] = false }
                }
            }
        case .needsTempoValue:
            if let tempo { force(tempo.valueID) }
        default:
            break
        }
    }

    /// Lowers by `steering.harmonyGuidance` (docs/control.md, "Guidance") the log-probability
    /// of each `Note On` outside the harmony in force, and of each `Note Duration` that would
    /// hold a note into the next chord when it is not one of that chord's tones.
    func guide(_ logits: inout [Float], mask: inout [Bool]?, grammar: REMIGrammar, newBars: Int) {
        let penalty = steering.harmonyGuidance
        guard penalty > 0 else { return }
        func lower(_ id: Int) {
            if penalty.isInfinite { mask?[id] = false } else { logits[id] -= penalty }
        }
        switch grammar.phase {
        case .needsNoteOn:
            guard let harmony = steering.harmony(inBar: newBars, at: grammar.position) else { return }
            for (id, pitch) in noteOns where harmony & (1 << (pitch % 12)) == 0 { lower(id) }
            // The defining tones not yet struck in this span are raised, so that a span of few
            // notes still names the chord (E and G alone are E minor) and each bar leans to the
            // key's tonic triad rather than its relative's.
            guard let span = steering.definingSpan(inBar: newBars, at: grammar.position) else { return }
            let missing = span.tones & ~struck(in: span)
            let bonus = min(penalty, Steering.definingToneBonus)
            for (id, pitch) in noteOns where missing & (1 << (pitch % 12)) != 0 { logits[id] += bonus }
        case .needsDuration:
            let config = vocabulary.config
            guard let pitch = lastPitch,
                let next = steering.nextChange(
                    inBar: newBars, at: grammar.position, positionsPerBar: config.positionsPerBar),
                (next.harmony ?? 0) & (1 << (pitch % 12)) == 0
            else { return }
            let room = (next.position - grammar.position) * config.gridTicks
            for (id, ticks) in durations where ticks > room { lower(id) }
        default:
            break
        }
    }

    /// The pitch classes struck so far in `span` (none when the last notes fell in another).
    func struck(in span: (bar: Int, index: Int, tones: Int)) -> Int {
        guard let s = soundedSpan, s.bar == span.bar, s.index == span.index else { return 0 }
        return sounded
    }

    /// Records the token drawn; `grammar` has read it, and `newBars` counts the bars begun
    /// since the prompt.
    mutating func advance(_ id: Int, grammar: REMIGrammar, newBars: Int) {
        switch vocabulary.event(for: id) {
        case .chord?: if !steering.chords.isEmpty { chordsWritten += 1 }
        case let .noteOn(pitch)?:
            lastPitch = pitch
            if let span = steering.definingSpan(inBar: newBars, at: grammar.position) {
                sounded = struck(in: span) | 1 << (pitch % 12)
                soundedSpan = (span.bar, span.index)
            }
        case let .instrument(part)?: playedParts.insert(part)
        default: break
        }
    }
}
