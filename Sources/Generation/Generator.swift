import Foundation
import Models
import REMI
import Tensor

/// When a generated piece stops.
public struct StopCondition: Equatable, Sendable {
    /// Stop before the `Bar` that would open bar number `bars + 1` of the new music (bars are
    /// counted after the prompt). nil: no bar limit.
    public var bars: Int?
    /// Stop after this many new tokens. nil: no token limit.
    public var tokens: Int?
    /// A hard cap on new tokens whatever else is set, so a model that never writes a `Bar`
    /// (or `End Of Piece`) still ends.
    public var maximumTokens: Int
    /// Whether the model may end the piece early with `End Of Piece` (with the grammar
    /// constraint on; without it nothing is forbidden).
    public var allowsEndOfPiece: Bool

    /// Stops after `bars` new bars or `tokens` new tokens, whichever comes first, or at
    /// `End Of Piece`.
    public init(bars: Int? = nil, tokens: Int? = nil, maximumTokens: Int? = nil, allowsEndOfPiece: Bool = true) throws {
        if let bars, bars < 1 { throw GenerationError.invalidLimit(what: "the number of bars", value: bars) }
        if let tokens, tokens < 1 { throw GenerationError.invalidLimit(what: "the number of tokens", value: tokens) }
        self.bars = bars
        self.tokens = tokens
        self.allowsEndOfPiece = allowsEndOfPiece
        // 2,000 tokens a bar is far beyond any real bar (dense piano bars hold a few hundred).
        self.maximumTokens = maximumTokens ?? tokens ?? 2_000 * (bars ?? 16)
    }
}

/// Why a piece ended.
public enum StopReason: String, Equatable, Sendable {
    /// The requested number of bars was written.
    case bars
    /// The requested (or maximum) number of tokens was written.
    case tokens
    /// The model wrote `End Of Piece`.
    case endOfPiece
}

/// Where generation stands, for a progress line.
public struct GenerationProgress: Sendable {
    /// New tokens so far.
    public var tokens: Int
    /// New bars started so far.
    public var bars: Int
    /// Seconds since the first new token was asked for.
    public var seconds: Double
    /// The token just written.
    public var id: Int = -1
    /// New tokens per second.
    public var tokensPerSecond: Double { seconds > 0 ? Double(tokens) / seconds : 0 }
}

/// A generated piece.
public struct GeneratedPiece: Sendable {
    /// The whole piece as ids: the prompt, then the new tokens (ending with `End Of Piece` when
    /// the model wrote it).
    public var ids: [Int]
    /// How many of `ids` came from the prompt.
    public var promptLength: Int
    /// Why it ended.
    public var stopReason: StopReason
    /// New tokens that broke the REMI grammar (always 0 with the grammar constraint on).
    public var grammarViolations: Int
    /// New bars (the `Bar` tokens among the new tokens).
    public var bars: Int
    /// Complete notes in the whole piece.
    public var notes: Int
    /// Seconds spent generating the new tokens (including reading the prompt).
    public var seconds: Double

    /// The new tokens only.
    public var newIDs: ArraySlice<Int> { ids[promptLength...] }
}

/// Writes music with a model: reads a prompt (or nothing), then draws one token at a time
/// with a `Sampler`, optionally keeping only the tokens the REMI grammar allows.
///
/// Context before the prompt: pieces in training streams are separated by `End Of Piece`, so
/// the model is first given that token, and the token after it is the first of a new piece.
public struct Generator {
    /// The model, read one token at a time.
    public let stepper: TokenStepper
    /// The vocabulary the model's ids belong to.
    public let vocabulary: Vocabulary
    /// Temperature, top-k, top-p.
    public var sampler: Sampler
    /// Whether only grammatical tokens may be drawn (on by default).
    public var constrainedToGrammar: Bool
    /// Chords, tempo and infilling asked of the new music (nothing by default).
    public var steering = Steering()
    /// Added to the model's logits before every draw (one value per id): a style's fitted
    /// bias (`StyleBias`) while a style is asked. nil: the model's logits as they are.
    public var logitBias: [Float]?
    /// The keys new notes may strike (with the grammar on): a piano's 88 by default, A0 to C8.
    /// Every part the bundled models write is a piano, and the models learnt from music that
    /// stays on its keys, yet a draw from their far tail now and then fell below or above it
    /// (docs/generation.md). Drum keys lie inside it. nil: all 128.
    public var keys: ClosedRange<Int>? = Generator.pianoKeys
    /// A0 to C8: the keys of a piano.
    public static let pianoKeys = 21...108
    /// The tokenizer of `vocabulary` (for the steering's tempo classes).
    private let tokenizer: REMITokenizer

    /// A generator; throws when the model and the vocabulary disagree on the number of ids.
    public init(stepper: TokenStepper, vocabulary: Vocabulary, sampler: Sampler, constrainedToGrammar: Bool = true)
        throws
    {
        guard stepper.vocabularySize == vocabulary.count else {
            throw GenerationError.vocabularyMismatch(model: stepper.vocabularySize, tokenizer: vocabulary.count)
        }
        self.stepper = stepper
        self.vocabulary = vocabulary
        self.sampler = sampler
        self.constrainedToGrammar = constrainedToGrammar
        self.tokenizer = REMITokenizer(vocabulary: vocabulary)
    }

    /// Generates one piece continuing `prompt` (ids without `End Of Piece`; empty: from
    /// scratch), drawing from `generator`. `progress` is called after every new token.
    public func generate(
        prompt: [Int] = [], stop: StopCondition, generator: inout SeededGenerator,
        progress: ((GenerationProgress) -> Void)? = nil
    ) throws -> GeneratedPiece {
        if let logitBias, logitBias.count != vocabulary.count {
            throw GenerationError.vocabularyMismatch(model: logitBias.count, tokenizer: vocabulary.count)
        }
        let clock = ContinuousClock(), started = clock.now
        var grammar = REMIGrammar(vocabulary: vocabulary, allowsEndOfPiece: stop.allowsEndOfPiece)
        grammar.advance(through: prompt)
        let promptBars = grammar.bars, promptViolations = grammar.violations
        var ids = prompt
        ids.reserveCapacity(prompt.count + min(stop.maximumTokens, 1 << 20))

        let context = [Int32(vocabulary.endOfPieceID)] + prompt.map { Int32($0) }
        var logProbabilities = try stepper.prime(context)
        // The sampler takes an array: one buffer, refilled in place every token.
        var logits = [Float](repeating: 0, count: vocabulary.count)
        let barID = vocabulary.id(for: .bar) ?? -1
        var reason = StopReason.tokens
        var newTokens = 0
        var steeringState = SteeringState(steering: steering, tokenizer: tokenizer)
        let unplayable = Set(
            vocabulary.events.indices.filter { id in
                if case let .noteOn(pitch) = vocabulary.events[id], let keys { !keys.contains(pitch) } else { false }
            })
        let fillEndID = vocabulary.id(for: .fillEnd) ?? -1
        while newTokens < stop.maximumTokens {
            logits.withUnsafeMutableBufferPointer { _ = $0.update(fromContentsOf: logProbabilities) }
            if let logitBias { for i in logits.indices { logits[i] += logitBias[i] } }
            var mask = constrainedToGrammar ? grammar.allowed : nil
            if !steering.isEmpty {
                var steered = mask ?? [Bool](repeating: true, count: vocabulary.count)
                steeringState.constrain(
                    &steered, grammar: grammar, newBars: grammar.bars - promptBars, gapBars: stop.bars)
                mask = steered
                steeringState.guide(&logits, mask: &mask, grammar: grammar, newBars: grammar.bars - promptBars)
            }
            // The `Bar` that opens an infilling gap closes nothing of the new music; the rule
            // below must not take it away when the context holds no note (a gap at the start of
            // a piece whose next bars are silent), or nothing could be drawn.
            let opensGap = steering.fillsGap && grammar.bars == promptBars
            if mask != nil, grammar.notes == 0, grammar.bars > 0, barID >= 0, !opensGap {
                // No bar may close before the first note sounds: a piece starts with music. The
                // recorded performances the models learn from often open with silent bars (the
                // room before the first key), and a model trained longer learns that too well:
                // the bundled model, unconstrained, filled 19 of 50 16-bar pieces mostly with
                // empty bars (seeds 1000-1049, empty-beat rate 0.46 against 0.03 in real music).
                mask?[barID] = false
            }
            var id = try sampler.sample(logits: logits, mask: mask, using: &generator)
            if mask != nil && unplayable.contains(id) {
                // Drawn again without the keys off the instrument: the same distribution as
                // masking them first, and every draw that did not land there stays as it was.
                for key in unplayable { mask?[key] = false }
                id = try sampler.sample(logits: logits, mask: mask, using: &generator)
            }
            if id == vocabulary.endOfPieceID {
                ids.append(id)
                grammar.advance(id)
                reason = .endOfPiece
                break
            }
            if let bars = stop.bars, id == barID, grammar.bars - promptBars == bars {
                reason = .bars
                break
            }
            if id == fillEndID && steering.fillsGap {
                reason = .bars
                break
            }
            ids.append(id)
            grammar.advance(id)
            steeringState.advance(id, grammar: grammar, newBars: grammar.bars - promptBars)
            newTokens += 1
            progress?(
                GenerationProgress(
                    tokens: newTokens, bars: grammar.bars - promptBars,
                    seconds: seconds(since: started, clock), id: id))
            if let tokens = stop.tokens, newTokens == tokens { break }
            logProbabilities = try stepper.step(Int32(id))
        }
        return GeneratedPiece(
            ids: ids, promptLength: prompt.count, stopReason: reason,
            grammarViolations: grammar.violations - promptViolations,
            bars: grammar.bars - promptBars, notes: grammar.notes,
            seconds: seconds(since: started, clock))
    }

    private func seconds(since start: ContinuousClock.Instant, _ clock: ContinuousClock) -> Double {
        let d = clock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}
