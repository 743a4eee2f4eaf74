import Foundation
import MIDI
import Models
import REMI
import Tensor
import Testing
@testable import Generation

/// Generation end to end on randomly initialised `tiny` models (the decoding machinery does not
/// depend on what the weights learned).
struct GeneratorTests {
    let tokenizer: REMITokenizer
    let txl: TransformerXL
    let gpt2: GPT2

    init() throws {
        tokenizer = try REMITokenizer()
        let V = tokenizer.vocabulary.count
        txl = try TransformerXL(config: .tiny(.transformerXL, vocabularySize: V), generator: SeededGenerator(seed: 7))
        gpt2 = try GPT2(config: .tiny(.gpt2, vocabularySize: V), generator: SeededGenerator(seed: 7))
    }

    func generator(_ stepper: TokenStepper, grammar: Bool = true, temperature: Float = 1) throws -> Generator {
        try Generator(
            stepper: stepper, vocabulary: tokenizer.vocabulary,
            sampler: Sampler(temperature: temperature), constrainedToGrammar: grammar)
    }

    func piece(
        _ stepper: TokenStepper, seed: UInt64, stop: StopCondition, prompt: [Int] = [],
        grammar: Bool = true
    ) throws -> GeneratedPiece {
        var random = SeededGenerator(seed: seed)
        return try generator(stepper, grammar: grammar).generate(prompt: prompt, stop: stop, generator: &random)
    }

    @Test func theSameSeedGivesTheSamePiece() throws {
        let stop = try StopCondition(tokens: 300)
        for stepper in [try TransformerXLStepper(model: txl) as TokenStepper, GPT2Stepper(model: gpt2)] {
            let a = try piece(stepper, seed: 42, stop: stop), b = try piece(stepper, seed: 42, stop: stop)
            let c = try piece(stepper, seed: 43, stop: stop)
            #expect(a.ids == b.ids)
            #expect(a.ids != c.ids)
            #expect(a.ids.count == 300 || a.stopReason == .endOfPiece)
        }
    }

    /// New notes stay on the keys asked (a piano's by default); a draw that lands off them is
    /// drawn again, so the pieces that never land there keep every token.
    @Test func newNotesStayOnTheKeys() throws {
        let stop = try StopCondition(tokens: 400)
        let stepper = try TransformerXLStepper(model: txl)
        var offKeys = 0
        for seed in 0..<6 {
            var free = try generator(stepper)
            free.keys = nil
            var random = SeededGenerator(seed: UInt64(seed))
            let wild = try free.generate(stop: stop, generator: &random)
            var narrow = try generator(stepper)
            narrow.keys = 48...72
            random = SeededGenerator(seed: UInt64(seed))
            let kept = try narrow.generate(stop: stop, generator: &random)
            let pitches = { (p: GeneratedPiece) in
                p.newIDs.compactMap { id -> Int? in
                    if case let .noteOn(pitch)? = tokenizer.vocabulary.event(for: id) { pitch } else { nil }
                }
            }
            #expect(!pitches(kept).isEmpty && pitches(kept).allSatisfy { (48...72).contains($0) })
            offKeys += pitches(wild).filter { !(48...72).contains($0) }.count
            let piano = try piece(stepper, seed: UInt64(seed), stop: stop)
            #expect(pitches(piano).allSatisfy { Generator.pianoKeys.contains($0) })
        }
        #expect(offKeys > 0, "a random model strikes keys off a narrow range when free to")
    }

    /// A piece starts with music: the first bar may not close before a note has sounded, even
    /// for a model that would rather write empty bars (as long-trained models learn from
    /// performances that open with silence).
    @Test func theFirstBarHoldsANoteEvenWhenTheModelPrefersSilence() throws {
        let bar = tokenizer.vocabulary.id(for: .bar)!
        let stepper = FixedStepper(vocabularySize: tokenizer.vocabulary.count, favourite: bar)
        for seed in 0..<20 {
            let p = try piece(stepper, seed: UInt64(seed), stop: try StopCondition(bars: 3))
            let firstBar = p.ids.split(separator: bar, omittingEmptySubsequences: false).dropFirst().first ?? []
            let notes = firstBar.filter {
                tokenizer.vocabulary.event(for: $0).map { if case .noteOn = $0 { true } else { false } } ?? false
            }
            #expect(!notes.isEmpty, "seed \(seed): the first bar is empty")
            #expect(p.grammarViolations == 0)
        }
    }

    /// Issue 7: 100 pieces with different seeds are all valid MIDI files with notes.
    @Test func aHundredSeedsGiveAHundredValidPiecesWithNotes() throws {
        let stepper = try TransformerXLStepper(model: txl)
        let stop = try StopCondition(bars: 2)
        var distinct = Set<[Int]>()
        for seed in 0..<100 {
            let p = try piece(stepper, seed: UInt64(seed), stop: stop)
            #expect(p.grammarViolations == 0)
            #expect(p.bars <= 2)
            distinct.insert(p.ids)
            let file = tokenizer.decode(ids: p.ids)
            let bytes = try file.encoded()
            let reread = try MIDIFile(bytes: bytes)
            let notes = reread.tracks.reduce(0) { $0 + $1.notes.count }
            #expect(notes > 0, "seed \(seed): no notes")
            #expect(notes == p.notes, "seed \(seed): \(p.notes) notes written, \(notes) read back")
        }
        #expect(distinct.count == 100)
    }

    @Test func stopsAtTheRequestedBars() throws {
        let stepper = GPT2Stepper(model: gpt2)
        for seed in 0..<5 as Range<UInt64> {
            let p = try piece(stepper, seed: seed, stop: StopCondition(bars: 3))
            var g = REMIGrammar(vocabulary: tokenizer.vocabulary)
            g.advance(through: p.ids)
            #expect(g.bars == p.bars)
            if p.stopReason == .bars { #expect(p.bars == 3) } else { #expect(p.stopReason == .endOfPiece) }
            #expect(p.ids.first == tokenizer.vocabulary.id(for: .bar))
        }
    }

    @Test func withoutEndOfPieceThePieceRunsToItsLimit() throws {
        for seed in 0..<3 as Range<UInt64> {
            let p = try piece(
                TransformerXLStepper(model: txl), seed: seed,
                stop: StopCondition(tokens: 400, allowsEndOfPiece: false))
            #expect(p.stopReason == .tokens && p.newIDs.count == 400 && p.grammarViolations == 0)
            #expect(!p.ids.contains(tokenizer.vocabulary.endOfPieceID))
        }
    }

    @Test func stopsAtTheRequestedTokens() throws {
        var reasons: [StopReason] = []
        for seed in 0..<4 as Range<UInt64> {
            let p = try piece(
                TransformerXLStepper(model: txl), seed: seed, stop: StopCondition(tokens: 57), grammar: false)
            reasons.append(p.stopReason)
            #expect(p.stopReason == .tokens ? p.newIDs.count == 57 : p.newIDs.last == tokenizer.vocabulary.endOfPieceID)
        }
        #expect(reasons.contains(.tokens))
    }

    @Test func continuesThePromptAndCountsOnlyNewBars() throws {
        let ids = Ids(vocabularyUnchecked: tokenizer.vocabulary)
        let prompt = [ids.bar] + ids.note(at: 0, pitch: 60) + [ids.bar] + ids.note(at: 4, pitch: 64)
        let p = try piece(
            TransformerXLStepper(model: txl, memoryLength: 64), seed: 5,
            stop: StopCondition(bars: 2), prompt: prompt)
        #expect(Array(p.ids.prefix(prompt.count)) == prompt)
        #expect(p.promptLength == prompt.count)
        #expect(p.bars <= 2 && p.grammarViolations == 0)
        #expect(p.notes >= 2)
    }

    /// A random model breaks the grammar often when nothing stops it; the counter sees it.
    @Test func withoutTheGrammarViolationsAreCounted() throws {
        let p = try piece(TransformerXLStepper(model: txl), seed: 3, stop: StopCondition(tokens: 200), grammar: false)
        #expect(p.grammarViolations > 50)
        // The decoder reads whatever came out.
        _ = try tokenizer.decode(ids: p.ids).encoded()
    }

    /// Reading a long context in segments then stepping gives what stepping all the way gives.
    @Test func primingInSegmentsMatchesStepping() throws {
        var random = SeededGenerator(seed: 11)
        let V = tokenizer.vocabulary.count
        let context = (0..<100).map { _ in Int32(random.next() % UInt64(V)) }
        let a = try TransformerXLStepper(model: txl, memoryLength: 48),
            b = try TransformerXLStepper(model: txl, memoryLength: 48)
        let primed = Array(try a.prime(context))
        var stepped = Array(try b.prime([context[0]]))
        for t in context.dropFirst() { stepped = Array(try b.step(t)) }
        let worst = zip(primed, stepped).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-4, "worst difference \(worst)")
    }

    /// When GPT-2's window is full it keeps its last half and goes on.
    @Test func gpt2SlidesItsWindow() throws {
        // float32: this checks the window logic, against a batched read of the kept tokens.
        let stepper = GPT2Stepper(model: gpt2, precision: .float32)
        let positions = gpt2.config.positions, V = tokenizer.vocabulary.count
        var random = SeededGenerator(seed: 9)
        let tokens = (0..<(positions + 5)).map { _ in Int32(random.next() % UInt64(V)) }
        var last = Array(try stepper.prime([tokens[0]]))
        for t in tokens.dropFirst() { last = Array(try stepper.step(t)) }
        // After the slide at token `positions`, the window holds the last half window + the rest.
        let kept = Array(tokens[(positions - positions / 2)...])
        // The returned buffer belongs to the stepper: keep the stepper alive while copying it.
        let other = GPT2Stepper(model: gpt2, precision: .float32)
        let fresh = try withExtendedLifetime(other) { Array(try other.prime(kept)) }
        let worst = zip(last, fresh).map { abs($0 - $1) }.max() ?? 1
        #expect(worst < 1e-4, "worst difference \(worst)")
    }

    @Test func promptKeepsTheFirstBars() {
        let bar = 3
        #expect(REMITokenizer.firstBars(of: [bar, 5, 6, bar, 7, bar, 8], bars: 2, barID: bar) == [bar, 5, 6, bar, 7])
        #expect(REMITokenizer.firstBars(of: [bar, 5], bars: 4, barID: bar) == [bar, 5])
        #expect(REMITokenizer.firstBars(of: [bar, 5, bar], bars: nil, barID: bar) == [bar, 5, bar])
    }

    @Test func badSettingsAreTypedErrors() throws {
        #expect(throws: GenerationError.invalidLimit(what: "the number of bars", value: 0)) {
            try StopCondition(bars: 0)
        }
        #expect(throws: GenerationError.invalidMemoryLength(0)) {
            try TransformerXLStepper(model: txl, memoryLength: 0)
        }
        let other = try TransformerXL(
            config: .tiny(.transformerXL, vocabularySize: 10), generator: SeededGenerator(seed: 1))
        #expect(throws: GenerationError.vocabularyMismatch(model: 10, tokenizer: tokenizer.vocabulary.count)) {
            try generator(TransformerXLStepper(model: other))
        }
    }
}

/// A stand-in model whose every step strongly prefers one token (logit 8 against 0).
final class FixedStepper: TokenStepper {
    let vocabularySize: Int
    private let logits: UnsafeMutableBufferPointer<Float>
    init(vocabularySize: Int, favourite: Int) {
        self.vocabularySize = vocabularySize
        logits = .allocate(capacity: vocabularySize)
        logits.initialize(repeating: 0)
        logits[favourite] = 8
    }
    deinit { logits.deallocate() }
    func prime(_ context: [Int32]) throws -> UnsafeBufferPointer<Float> { try step(0) }
    func step(_ token: Int32) throws -> UnsafeBufferPointer<Float> { UnsafeBufferPointer(logits) }
}
