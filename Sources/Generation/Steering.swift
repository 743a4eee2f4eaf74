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
    /// A tempo in bpm, written at the start of the first new bar and wherever the model
    /// writes a tempo. nil: the model's own.
    public var tempoBPM: Int?
    /// Control tokens (`Style`, `Key`, `Density`, in that order) forced after every new `Bar`.
    /// The kinds not listed are left to the model.
    public var header: [REMIEvent] = []
    /// Whether the new music fills an infilling gap: it opens with a `Bar` and ends with
    /// `Infill_End` once the stop condition's bars are written, and only then.
    public var fillsGap: Bool

    /// Steering; nothing is asked by default.
    public init(chords: [[PlannedChord]] = [], tempoBPM: Int? = nil, fillsGap: Bool = false) {
        self.chords = chords
        self.tempoBPM = tempoBPM
        self.fillsGap = fillsGap
    }

    /// Whether anything is asked.
    public var isEmpty: Bool { chords.isEmpty && tempoBPM == nil && !fillsGap && header.isEmpty }

    /// Reads a progression as `--chords` takes it: bars separated by spaces (or `|`), chords
    /// inside a bar by commas, each in REMI's names (`C:maj`, `F#:min`, `G:dom`, `N:N`). A bar
    /// of n chords puts them on evenly spaced beats (two in 4/4: beats 1 and 3).
    public static func chords(parsing text: String, config: TokenizerConfig) throws -> [[PlannedChord]] {
        let bars = text.split { $0 == " " || $0 == "|" || $0 == "\t" }
        guard !bars.isEmpty else { throw GenerationError.invalidControl(name: "chords", reason: "no chord given") }
        let gridPerBeat = config.positionsPerBar / config.beatsPerBar
        return try bars.map { bar in
            let names = bar.split(separator: ",", omittingEmptySubsequences: false)
            guard names.count <= config.beatsPerBar else {
                throw GenerationError.invalidControl(
                    name: "chords", reason: "'\(bar)' has more chords than the \(config.beatsPerBar) beats of a bar")
            }
            return try names.enumerated().map { i, name in
                guard let label = ChordLabel(name: String(name)) else {
                    throw GenerationError.invalidControl(
                        name: "chords",
                        reason: "'\(name)' is not a chord name: write a root (C, C#, D ... B; sharps only) and a "
                            + "quality (\(ChordQuality.allCases.map(\.rawValue).joined(separator: ", "))), "
                            + "as in C:maj or F#:min, or N:N for no chord")
                }
                return PlannedChord(position: i * config.beatsPerBar / names.count * gridPerBeat, label: label)
            }
        }
    }
}

/// The steering of one generation as it runs: which forced token is next.
struct SteeringState {
    let steering: Steering
    let vocabulary: Vocabulary
    let chordIDs: Set<Int>
    let tempo: (classID: Int, valueID: Int)?
    /// The new bar the plan was last read for, and how many of its chords are written.
    var planBar = 0
    var chordsWritten = 0
    /// Whether the first new bar still needs its tempo.
    var tempoPending: Bool

    init(steering: Steering, tokenizer: REMITokenizer) {
        self.steering = steering
        let vocabulary = tokenizer.vocabulary
        self.vocabulary = vocabulary
        chordIDs = Set(
            vocabulary.events.indices.filter { if case .chord = vocabulary.events[$0] { true } else { false } })
        if let bpm = steering.tempoBPM {
            let (c, v) = tokenizer.tempoClassAndValue(bpm: bpm)
            if let classID = vocabulary.id(for: .tempoClass(c)), let valueID = vocabulary.id(for: .tempoValue(v)) {
                tempo = (classID, valueID)
            } else {
                tempo = nil
            }
        } else {
            tempo = nil
        }
        tempoPending = tempo != nil
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
        if steering.fillsGap && newBars == 0 {
            // The gap starts at a bar line: nothing may be added to the bar before it.
            force(vocabulary.id(for: .bar))
            return
        }
        let pending = pendingChord(inBar: newBars)
        if newBars > 1 { tempoPending = false }
        if grammar.phase == .afterBar && newBars >= 1,
            let next = steering.header.first(where: { $0.headerRank > grammar.headerRank })
        {
            force(vocabulary.id(for: next))
            return
        }
        switch grammar.phase {
        case .afterBar, .itemDone:
            if tempoPending && newBars == 1 {
                // The first bar opens at its first position: its chord (if one is asked there),
                // then the tempo.
                force(vocabulary.id(for: .position(0)))
            } else if let pending {
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
            } else if tempoPending && newBars == 1 && grammar.position == 0, let tempo {
                force(tempo.classID)
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

    /// Records the token drawn.
    mutating func advance(_ id: Int) {
        switch vocabulary.event(for: id) {
        case .chord?: if !steering.chords.isEmpty { chordsWritten += 1 }
        case .tempoValue?: tempoPending = false
        default: break
        }
    }
}
