import Foundation
import MIDI
import Models
import REMI
import Tensor
import Testing

@testable import Generation

/// Chords, tempo, header and infilling, forced on randomly initialised tiny models: what the
/// generator guarantees does not depend on what the weights learned.
struct SteeringTests {
    let tokenizer: REMITokenizer
    let txl: TransformerXL

    init() throws {
        var config = TokenizerConfig()
        config.controls = true
        config.styles = ["bach", "chopin"]
        tokenizer = try REMITokenizer(config: config)
        txl = try TransformerXL(
            config: .tiny(.transformerXL, vocabularySize: tokenizer.vocabulary.count),
            generator: SeededGenerator(seed: 3))
    }

    var vocabulary: Vocabulary { tokenizer.vocabulary }

    func generate(_ steering: Steering, prompt: [Int] = [], stop: StopCondition, seed: UInt64) throws -> GeneratedPiece
    {
        var g = try Generator(stepper: TransformerXLStepper(model: txl), vocabulary: vocabulary, sampler: Sampler())
        g.steering = steering
        var random = SeededGenerator(seed: seed)
        return try g.generate(prompt: prompt, stop: stop, generator: &random)
    }

    /// The new tokens split into bars (each starting with its `Bar`).
    func bars(_ ids: some Collection<Int>) -> [[REMIEvent]] {
        var out: [[REMIEvent]] = []
        for id in ids {
            guard let e = vocabulary.event(for: id) else { continue }
            if e == .bar { out.append([]) }
            if !out.isEmpty { out[out.count - 1].append(e) }
        }
        return out
    }

    @Test func progressionsReadAsBarsOfChordsOnBeats() throws {
        let config = tokenizer.config
        let plan = try Steering.chords(parsing: "C:maj,G:maj  A:min|F:maj,C:maj,G:dom,N:N", config: config)
        #expect(plan.map { $0.map(\.position) } == [[0, 8], [0], [0, 4, 8, 12]])
        #expect(plan[0][1].label == .chord(root: 7, quality: .major))
        for bad in ["", "H:maj", "C:major", "C:maj,C:maj,C:maj,C:maj,C:maj"] {
            #expect(throws: GenerationError.self) { try Steering.chords(parsing: bad, config: config) }
        }
    }

    @Test func forcedChordsAppearWhereAskedAndNoOthers() throws {
        let plan = try Steering.chords(parsing: "C:maj,G:maj A:min F:maj", config: tokenizer.config)
        for seed in 0..<8 {
            let p = try generate(Steering(chords: plan), stop: try StopCondition(bars: 5), seed: UInt64(seed))
            #expect(p.grammarViolations == 0)
            for (b, bar) in bars(p.newIDs).enumerated() {
                var chords: [PlannedChord] = []
                var position = -1
                for e in bar {
                    if case let .position(x) = e { position = x }
                    if case let .chord(label) = e { chords.append(PlannedChord(position: position, label: label)) }
                }
                // A bar cut short by End Of Piece still has its chords written first in order.
                let asked = plan[b % plan.count]
                #expect(chords == Array(asked.prefix(chords.count)), "seed \(seed) bar \(b + 1)")
                if p.stopReason == .bars || b < bars(p.newIDs).count - 1 {
                    #expect(chords == asked, "seed \(seed) bar \(b + 1)")
                }
            }
        }
    }

    /// Guidance without limit lets a random model write chord tones only, and hold no
    /// non-tone of the next chord across the change; without guidance it writes anything.
    @Test func fullHarmonyGuidanceKeepsEveryNoteToItsChord() throws {
        let plan = try Steering.chords(parsing: "C:maj A:min,D:dom", config: tokenizer.config)
        func outside(_ guidance: Float) throws -> (pitches: Int, held: Int, notes: Int) {
            var steering = Steering(chords: plan)
            steering.harmonyGuidance = guidance
            var pitches = 0, held = 0, notes = 0
            for seed in 0..<24 {
                let p = try generate(steering, stop: try StopCondition(bars: 4), seed: UInt64(seed))
                for (b, bar) in bars(p.newIDs).enumerated() {
                    let chords = plan[b % plan.count]
                    var position = 0
                    var pitch = 0
                    for event in bar {
                        switch event {
                        case let .position(q): position = q
                        case let .noteOn(q): pitch = q
                        case let .duration(step):
                            notes += 1
                            let chord = chords.last { $0.position <= position }!
                            if Steering.pitchClasses(of: chord.label)! & 1 << (pitch % 12) == 0 { pitches += 1 }
                            let next = chords.first { $0.position > position } ?? plan[(b + 1) % plan.count][0]
                            let end = chords.first { $0.position > position }?.position ?? 16
                            let crosses = position * 120 + (step + 1) * 60 > end * 120
                            if crosses && Steering.pitchClasses(of: next.label)! & 1 << (pitch % 12) == 0 { held += 1 }
                        default: break
                        }
                    }
                }
            }
            return (pitches, held, notes)
        }
        let strict = try outside(.infinity)
        #expect(strict.notes > 40 && strict.pitches == 0 && strict.held == 0, "\(strict)")
        let free = try outside(0)
        #expect(free.pitches > free.notes / 4)
        #expect(Steering.pitchClasses(of: MusicalKey(parsing: "A minor")!) == 0b1011_1111_0101)
    }

    /// Steering read token by token as the generator reads it, to see what guidance does to
    /// the next `Note On`.
    struct GuidanceProbe {
        let vocabulary: Vocabulary
        var state: SteeringState
        var grammar: REMIGrammar

        init(_ steering: Steering, tokenizer: REMITokenizer) {
            vocabulary = tokenizer.vocabulary
            state = SteeringState(steering: steering, tokenizer: tokenizer)
            grammar = REMIGrammar(vocabulary: tokenizer.vocabulary)
        }

        mutating func read(_ events: [REMIEvent]) {
            for e in events {
                let id = vocabulary.id(for: e)!
                grammar.advance(id)
                state.advance(id, grammar: grammar, newBars: grammar.bars)
            }
        }

        /// The guidance's shift of the logit of each pitch class (pitches 60...71).
        func shifts() -> [Float] {
            var logits = [Float](repeating: 0, count: vocabulary.count)
            var mask: [Bool]? = nil
            state.guide(&logits, mask: &mask, grammar: grammar, newBars: grammar.bars)
            return (60..<72).map { logits[vocabulary.id(for: .noteOn($0))!] }
        }
    }

    /// Guidance raises the root and third of the chord in force until its span has struck
    /// them, then leaves them to the model; a new chord's span starts afresh.
    @Test func guidanceRaisesTheDefiningTonesNotYetStruck() throws {
        var steering = Steering(chords: try Steering.chords(parsing: "C:maj,A:min", config: tokenizer.config))
        steering.harmonyGuidance = 4
        var probe = GuidanceProbe(steering, tokenizer: tokenizer)
        let c = 0, e = 4, g = 7, a = 9
        probe.read([.bar, .position(0), .chord(.chord(root: 0, quality: .major)), .position(0), .velocity(10)])
        var s = probe.shifts()
        #expect(s[c] == 2 && s[e] == 2 && s[g] == 0 && s[1] == -4 && s[a] == -4, "\(s)")
        probe.read([.noteOn(48), .duration(3), .position(2), .velocity(10)])
        s = probe.shifts()
        #expect(s[c] == 0 && s[e] == 2 && s[g] == 0, "\(s)")
        probe.read([.noteOn(64), .duration(3), .position(4), .velocity(10)])
        #expect(probe.shifts()[c] == 0 && probe.shifts()[e] == 0)
        // Beat 3: A minor's span, nothing struck in it yet.
        probe.read([.noteOn(67), .duration(3), .position(8), .chord(.chord(root: 9, quality: .minor)), .position(8)])
        probe.read([.velocity(10)])
        s = probe.shifts()
        #expect(s[a] == 2 && s[c] == 2 && s[e] == 0 && s[g] == -4, "\(s)")
    }

    /// Without chords, an asked key's tonic triad is raised in every bar until struck: what
    /// tells A minor from C major, which share a scale.
    @Test func guidanceLeansEachBarToTheKeysTonic() throws {
        var steering = Steering()
        steering.header = [.key(MusicalKey(parsing: "A minor")!.index)]
        steering.harmonyGuidance = 4
        var probe = GuidanceProbe(steering, tokenizer: tokenizer)
        let a = 9, c = 0, e = 4, gSharp = 8, bFlat = 10
        probe.read([.bar, .position(0), .velocity(10)])
        var s = probe.shifts()
        #expect(s[a] == 2 && s[c] == 2 && s[e] == 2 && s[gSharp] == 0 && s[bFlat] == -4, "\(s)")
        probe.read([.noteOn(57), .duration(3), .position(4), .velocity(10)])
        s = probe.shifts()
        #expect(s[a] == 0 && s[c] == 2, "\(s)")
        probe.read([.noteOn(60), .duration(3), .bar, .position(0), .velocity(10)])
        #expect(probe.shifts()[a] == 2, "a new bar leans to the tonic again")
    }

    /// A model of named parts: every required part has played by the end of the bar it must
    /// enter by, whatever the weights.
    @Test func everyRequiredPartEntersByItsBar() throws {
        let tokenizer = try REMITokenizer(config: .arrangement())
        let v = tokenizer.vocabulary
        let model = try TransformerXL(
            config: .tiny(.transformerXL, vocabularySize: v.count), generator: SeededGenerator(seed: 5))
        let roles = [129, 130, 131]
        for seed in 0..<6 {
            var g = try Generator(stepper: TransformerXLStepper(model: model), vocabulary: v, sampler: Sampler())
            g.steering.requiredParts = roles
            g.steering.partsEnterBy = 2
            var random = SeededGenerator(seed: UInt64(seed))
            let piece = try g.generate(stop: try StopCondition(bars: 2), generator: &random)
            #expect(piece.grammarViolations == 0)
            let parts = Set(
                piece.newIDs.compactMap { id -> Int? in
                    if case let .instrument(i)? = v.event(for: id) { i } else { nil }
                })
            #expect(parts.isSuperset(of: roles), "seed \(seed): \(parts.sorted())")
        }
    }

    /// A continuation starts at a bar line: the prompt's last bar gets no new note (it did: the
    /// prompt ends before the next `Bar`, and the model went on writing in it).
    @Test func aContinuationAddsNothingToThePromptsLastBar() throws {
        let prompt = [REMIEvent.bar, .position(0), .velocity(20), .noteOn(60), .duration(3)].map {
            vocabulary.id(for: $0)!
        }
        var opening = Steering()
        opening.opensNewBar = true
        var wroteIntoIt = 0
        for seed in 0..<8 {
            let free = try generate(Steering(), prompt: prompt, stop: try StopCondition(bars: 2), seed: UInt64(seed))
            if free.newIDs.first != vocabulary.id(for: .bar) { wroteIntoIt += 1 }
            let p = try generate(opening, prompt: prompt, stop: try StopCondition(bars: 2), seed: UInt64(seed))
            #expect(p.newIDs.first == vocabulary.id(for: .bar) && p.grammarViolations == 0)
        }
        #expect(wroteIntoIt > 0, "without the rule the model writes into the prompt's bar")
    }

    /// A tempo is written into the first new bar after generation (after its header and a chord
    /// at its first position), and any tempo the model writes is forced to it.
    @Test func anAskedTempoOpensTheFirstBarAndEveryTempoIsIt() throws {
        let plan = try Steering.chords(parsing: "D:min", config: tokenizer.config)
        let (c, v) = tokenizer.tempoClassAndValue(bpm: 96)
        for seed in 0..<6 {
            let steering = Steering(chords: plan, tempoBPM: 96)
            let p = try generate(steering, stop: try StopCondition(bars: 3), seed: UInt64(seed))
            let opened = steering.openingWithTempo(Array(p.newIDs), tokenizer: tokenizer)
            let first = (bars(opened).first ?? []).filter { $0.headerRank == 0 }
            #expect(
                Array(first.prefix(6)) == [
                    .bar, .position(0), .chord(.chord(root: 2, quality: .minor)), .position(0), .tempoClass(c),
                    .tempoValue(v),
                ])
            let tempos = tokenizer.decode(ids: opened).tempoChanges
            #expect(!tempos.isEmpty && tempos.allSatisfy { Int($0.bpm) == 96 })
        }
        // A tempo the model wrote there itself is kept, not doubled; nothing asked, nothing added.
        let ids = [REMIEvent.bar, .key(3), .position(0), .tempoClass(c), .tempoValue(v), .position(4)].map {
            vocabulary.id(for: $0)!
        }
        #expect(Steering(tempoBPM: 96).openingWithTempo(ids, tokenizer: tokenizer) == ids)
        #expect(Steering().openingWithTempo(Array(ids.prefix(2)), tokenizer: tokenizer) == Array(ids.prefix(2)))
        #expect(
            Steering(tempoBPM: 96).openingWithTempo(Array(ids.prefix(2)) + [ids[5]], tokenizer: tokenizer)
                == Array(ids.prefix(2)) + [ids[2], ids[3], ids[4], ids[5]])
    }

    @Test func everyBarMayRestateStyleKeyDensityInThatOrder() throws {
        let header = tokenizer.header(style: 1, key: MusicalKey(tonic: 9, isMinor: true), density: 0)
        let bar = vocabulary.id(for: .bar)!
        var grammar = REMIGrammar(vocabulary: vocabulary)
        #expect(!grammar.allows(header[0]))
        grammar.advance(bar)
        for id in header {
            #expect(grammar.allows(id))
            grammar.advance(id)
        }
        #expect(grammar.violations == 0 && grammar.phase == .afterBar)
        #expect(!grammar.allows(header[0]) && !grammar.allows(header[2]) && grammar.allows(bar))
        grammar.advance(bar)
        #expect(grammar.allows(header[1]))
        // Infilling markers are never drawn.
        #expect(!grammar.allows(vocabulary.id(for: .fillSuffix)!))
        // Forced header tokens open every new bar; the kinds not asked are not written.
        var steering = Steering()
        steering.header = [.style(1), .density(2)]
        for seed in 0..<4 {
            let p = try generate(steering, stop: try StopCondition(bars: 4), seed: UInt64(seed))
            for b in bars(p.newIDs) {
                #expect(Array(b.prefix(3)) == [.bar, .style(1), .density(2)])
                #expect(!b.dropFirst(3).contains { $0.headerRank > 0 })
            }
        }
    }

    /// A MIDI file of `bars` bars with a different pitch in each bar, on two tracks.
    func file(bars: Int) -> MIDIFile {
        let notes = (0..<(bars * 4)).map { beat in
            Note(start: beat * 96 + 3, end: beat * 96 + 90, pitch: 48 + beat / 4, velocity: 70 + beat % 5)
        }
        let bass = (0..<bars).map { Note(start: $0 * 384, end: $0 * 384 + 380, pitch: 36, velocity: 60, channel: 1) }
        return MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(96),
            tracks: [
                Track(name: "Right", notes: notes, endTick: bars * 384),
                Track(name: "Left", notes: bass, endTick: bars * 384),
            ],
            tempoChanges: [TempoChange(tick: 0, bpm: 100), TempoChange(tick: 384 * 5, bpm: 80)])
    }

    @Test func infillingWritesExactlyTheGapsBarsAndKeepsEveryOtherNote() throws {
        let original = file(bars: 10)
        for (gap, seed) in [(2..<5, 1), (0..<1, 2), (7..<10, 3), (4..<6, 4)] {
            let infilling = try Infilling(file: original, gap: gap, tokenizer: tokenizer)
            let steering = Steering(fillsGap: true)
            let p = try generate(
                steering, prompt: infilling.context,
                stop: try StopCondition(bars: gap.count, allowsEndOfPiece: false), seed: UInt64(seed))
            #expect(bars(p.newIDs).count == gap.count && p.grammarViolations == 0)
            #expect(!p.newIDs.contains(vocabulary.id(for: .fillEnd)!))
            let result = try infilling.splice(middle: Array(p.newIDs))
            let barTicks = 384
            for (before, after) in zip(original.tracks, result.tracks) {
                let kept = before.notes.filter { !gap.contains($0.start / barTicks) }
                #expect(after.notes.filter { !gap.contains($0.start / barTicks) } == kept)
                #expect(after.name == before.name && after.controlChanges == before.controlChanges)
            }
            #expect(result.tempoChanges == original.tempoChanges)
            let written = result.tracks.flatMap(\.notes).filter { gap.contains($0.start / barTicks) }
            let notes = p.newIDs.filter { if case .noteOn? = vocabulary.event(for: $0) { true } else { false } }
            #expect(written.count == notes.count)
        }
        #expect(throws: GenerationError.self) { try Infilling(file: original, gap: 8..<12, tokenizer: tokenizer) }
        #expect(throws: GenerationError.self) { try Infilling(file: original, gap: 0..<1, tokenizer: REMITokenizer()) }
    }

    /// A new note ringing past the gap ends where the kept music strikes its key again (it ran
    /// across that strike: two overlapping note-ons of one key on one channel).
    @Test func aNewNoteEndsWhereTheKeptMusicStrikesItsKeyAgain() throws {
        let kept = [
            Note(start: 384 + 48, end: 384 + 90, pitch: 60, velocity: 80),
            Note(start: 384, end: 480, pitch: 64, velocity: 80),
        ]
        let original = MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(96),
            tracks: [Track(notes: [Note(start: 0, end: 90, pitch: 62, velocity: 80)] + kept, endTick: 2 * 384)])
        let infilling = try Infilling(file: original, gap: 0..<1, tokenizer: tokenizer)
        let middle = [
            REMIEvent.bar, .position(0), .velocity(20), .noteOn(60), .duration(63), .position(0), .velocity(20),
            .noteOn(67), .duration(63),
        ]
        .map { vocabulary.id(for: $0)! }
        let notes = try infilling.splice(middle: middle).tracks[0].notes
        #expect(notes.first { $0.pitch == 60 && $0.start == 0 }?.end == 384 + 48)
        // A key the kept music does not strike again rings on.
        #expect(notes.first { $0.pitch == 67 }?.end == 64 * 60 * 96 / 480)
        #expect(notes.filter { $0.start >= 384 } == kept.sorted { $0.start < $1.start })
    }

    /// A note played a hair before the gap's first downbeat stays in its bar (the tokenizer's grid
    /// snaps it into the gap, which took it away), and so does one a hair before the bar after
    /// the gap, which the model read in that bar.
    @Test func notesBelongToTheBarTheirOnsetIsIn() throws {
        let early = Note(start: 384 - 9, end: 384 + 40, pitch: 74, velocity: 80)
        let late = Note(start: 768 - 9, end: 768 + 40, pitch: 76, velocity: 80)
        let after = Note(start: 768 + 96, end: 768 + 150, pitch: 77, velocity: 80)
        let song = MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(96),
            tracks: [
                Track(notes: [Note(start: 0, end: 90, pitch: 72, velocity: 80), early, late, after], endTick: 1_152)
            ])
        let infilling = try Infilling(file: song, gap: 1..<2, tokenizer: tokenizer)
        let middle = [REMIEvent.bar, .position(4), .velocity(20), .noteOn(55), .duration(3)].map {
            vocabulary.id(for: $0)!
        }
        let notes = try infilling.splice(middle: middle).tracks[0].notes
        #expect(notes.map(\.pitch) == [72, 74, 55, 76, 77])
    }

    /// The new notes go to the track that played most in the gap, never to drums.
    @Test func theGapIsWrittenIntoTheTrackThatPlayedMostInIt() throws {
        let melody = Track(name: "MELODY", notes: [Note(start: 0, end: 90, pitch: 72, velocity: 80)], endTick: 768)
        var drums = Track(
            name: "Drums",
            notes: (0..<8).map { Note(start: $0 * 48, end: $0 * 48 + 10, pitch: 36, velocity: 90, channel: 9) },
            endTick: 768)
        drums.isDrum = true
        let piano = Track(
            name: "PIANO",
            notes: (0..<4).map { Note(start: $0 * 96, end: $0 * 96 + 90, pitch: 48 + $0, velocity: 70, channel: 2) }
                + [Note(start: 384, end: 480, pitch: 50, velocity: 70, channel: 2)], endTick: 768)
        let song = MIDIFile(format: .multiTrack, division: .ticksPerBeat(96), tracks: [melody, drums, piano])
        let infilling = try Infilling(file: song, gap: 0..<1, tokenizer: tokenizer)
        let middle = [REMIEvent.bar, .position(4), .velocity(20), .noteOn(55), .duration(3)].map {
            vocabulary.id(for: $0)!
        }
        let result = try infilling.splice(middle: middle)
        #expect(result.tracks[2].notes.map(\.pitch) == [55, 50] && result.tracks[2].notes[0].channel == 2)
        #expect(result.tracks[0].notes.isEmpty && result.tracks[1].notes.isEmpty)
    }

    /// The first bar rewritten when the bars after it are silent: the context then holds no
    /// note, and the rule that no bar closes before the first note once took away the `Bar`
    /// that opens the gap, leaving nothing to draw.
    @Test func aGapAtTheStartBeforeSilentBarsIsWritten() throws {
        let notes = [0, 3].flatMap { bar in
            (0..<4).map {
                Note(start: bar * 384 + $0 * 96, end: bar * 384 + $0 * 96 + 90, pitch: 60 + $0, velocity: 80)
            }
        }
        let sparse = MIDIFile(
            format: .multiTrack, division: .ticksPerBeat(96), tracks: [Track(notes: notes, endTick: 4 * 384)])
        let infilling = try Infilling(file: sparse, gap: 0..<1, tokenizer: tokenizer)
        let p = try generate(
            Steering(fillsGap: true), prompt: infilling.context,
            stop: try StopCondition(bars: 1, allowsEndOfPiece: false), seed: 5)
        #expect(bars(p.newIDs).count == 1 && p.grammarViolations == 0)
        let result = try infilling.splice(middle: Array(p.newIDs))
        #expect(result.tracks[0].notes.filter { $0.start >= 384 } == notes.filter { $0.start >= 384 })
    }
}
