import Foundation
import MIDI
import Models
import REMI
import Tensor

/// One piece to write: from scratch, continuing the first bars of a file, or rewriting bars
/// of a file, with the sampler's settings and the controls.
public struct PieceRequest: Sendable {
    /// What the new music grows from.
    public enum Source: Sendable {
        /// Nothing: a new piece.
        case scratch
        /// The first `bars` bars of `file`, continued.
        case continuation(MIDIFile, bars: Int)
        /// `file` with bars `bars` (1-based, inclusive) rewritten and every other bar kept.
        case infill(MIDIFile, bars: ClosedRange<Int>)
    }

    /// What the new music grows from.
    public var source: Source = .scratch
    /// New bars to write (ignored by an infill, which writes its gap).
    public var bars: Int? = 16
    /// New tokens to write instead of bars.
    public var tokens: Int?
    /// The seed of every random draw.
    public var seed: UInt64
    /// Temperature, top-k and top-p.
    public var sampler: Sampler
    /// Chords, style, key, density, tempo.
    public var controls = MusicControls()
    /// Whether the model may end the piece before the bars or tokens asked for. Off by default:
    /// someone who asks for 8 bars wants 8 bars, not the note or two after which the model
    /// sometimes writes `End Of Piece` (the grammar keeps it out until then).
    public var allowsEndOfPiece = false
    /// Whether only grammatical tokens may be drawn.
    public var constrainedToGrammar = true

    /// A request for a new piece drawn with `seed` and `sampler`.
    public init(seed: UInt64, sampler: Sampler) {
        self.seed = seed
        self.sampler = sampler
    }
}

/// A piece written by a `Composer`.
public struct ComposedPiece: Sendable {
    /// The music: the prompt's bars and the new ones, or the infilled file.
    public var file: MIDIFile
    /// The ids the model read and wrote.
    public var generated: GeneratedPiece
    /// Semitones the prompt was moved to reach the asked key (0: not moved).
    public var transposition: Int
    /// The bars written, 1-based, in `file`'s numbering.
    public var newBars: ClosedRange<Int>
    /// For an infill: whether the model was shown the bars after the gap.
    public var sawBarsAfterGap: Bool
    /// Notes the model wrote.
    public var newNotes: Int
}

/// Where a piece stands after each finished bar, for a view that grows while the model writes.
public struct ComposedBar {
    /// The finished bar, 1-based, in the numbering of the piece being written.
    public var bar: Int
    /// The piece so far, with that bar complete.
    public var file: MIDIFile
}

/// Writes pieces with one model, loaded once: `cadenza generate` and the studio both ask it,
/// so a request means the same music whichever way it comes.
public final class Composer {
    /// The model and its tokenizer.
    public let model: ModelFolder
    /// The model's decoder, reused for every piece.
    public let stepper: TokenStepper
    /// The decoder infilling reads with: `stepper`, or for a Transformer-XL whose memory is
    /// shorter than `Infilling.memoryLength` (and no memory was asked), a second one with
    /// that memory, loaded on the first infill.
    private var infillStepper: TokenStepper?
    /// The precision the decoders read the weights in.
    public let precision: DecoderMatrix.Precision
    /// The model folder's fitted style bias (`style-bias.json`), added to the logits while a
    /// style is asked; nil when the folder has none.
    public let styleBias: StyleBias?

    /// Loads `model`'s decoder with `memoryLength` (nil: the training memory) at `precision`
    /// (nil: the model's `generationPrecision`), and its style bias where the folder has one.
    public init(model: ModelFolder, memoryLength: Int? = nil, precision: DecoderMatrix.Precision? = nil) throws {
        self.model = model
        self.precision = precision ?? model.generationPrecision
        self.styleBias = try StyleBias.read(from: model.folder, for: model.tokenizer)
        self.stepper = try model.stepper(memoryLength: memoryLength, precision: self.precision)
        let short = (stepper as? TransformerXLStepper).map { $0.memoryLength < Infilling.memoryLength } ?? false
        if memoryLength != nil || !short { infillStepper = stepper }
    }

    /// The decoder for infilling (see `infillStepper`).
    private func stepperForInfilling() throws -> TokenStepper {
        if let infillStepper { return infillStepper }
        let made = try model.stepper(memoryLength: Infilling.memoryLength, precision: precision)
        infillStepper = made
        return made
    }

    /// The tokenizer of the model.
    public var tokenizer: REMITokenizer { model.tokenizer }

    /// Whether `id` is a `Note On`.
    private func isNoteOn(_ id: Int) -> Bool {
        if case .noteOn = tokenizer.vocabulary.event(for: id) { true } else { false }
    }

    /// The prompt a continuation reads: the first `bars` bars of `file` with the controls'
    /// headers (`resolved` from `controls`), moved to the asked key. Throws when those bars
    /// hold no notes.
    private func promptIDs(
        from file: MIDIFile, bars: Int, controls: MusicControls, resolved: MusicControls.Resolved
    ) throws -> (ids: [Int], semitones: Int, barsKept: Int) {
        let all = try tokenizer.prompt(from: file, bars: nil)
        let barID = tokenizer.vocabulary.id(for: .bar) ?? -1
        let ids = REMITokenizer.firstBars(of: all, bars: bars, barID: barID)
        guard ids.contains(where: isNoteOn) else {
            let onlyDrums = !tokenizer.config.hasInstruments && file.notesAreAllDrums
            throw GenerationError.invalidControl(
                name: "prompt",
                reason: onlyDrums
                    ? "its notes are all drums (MIDI channel 10), which this model does not play: nothing to continue"
                    : all.count > ids.count
                        ? "its first \(bars) bar\(bars == 1 ? "" : "s") hold no notes: nothing to continue"
                        : "it holds no notes: nothing to continue")
        }
        let (moved, shift) = controls.transposed(ids, tokenizer: tokenizer)
        // The prompt's bars carry the controls as training pieces do.
        let headed = tokenizer.withHeaders(
            moved, style: resolved.style, key: resolved.key ?? tokenizer.key(ofIDs: moved), density: true)
        return (headed, shift, ids.filter { $0 == barID }.count)
    }

    /// Writes `request`'s piece. `onBar` is called as each new bar is finished (and for the
    /// last one at the end), `onToken` after every token.
    public func compose(
        _ request: PieceRequest, onBar: ((ComposedBar) -> Void)? = nil,
        onToken: ((GenerationProgress) -> Void)? = nil
    ) throws -> ComposedPiece {
        let resolved = try request.controls.resolved(for: tokenizer)
        let isInfill = if case .infill = request.source { true } else { false }
        var generator = try Generator(
            stepper: isInfill ? try stepperForInfilling() : stepper, vocabulary: tokenizer.vocabulary,
            sampler: request.sampler,
            constrainedToGrammar: request.constrainedToGrammar)
        generator.steering = try request.controls.steering(tokenizer: tokenizer, resolved: resolved)
        if let style = resolved.style { generator.logitBias = styleBias?.row(style: style) }
        var random = SeededGenerator(seed: request.seed)

        let context: [Int]
        let stop: StopCondition
        let firstNewBar: Int
        let decode: ([Int]) throws -> MIDIFile
        var infilling: Infilling?
        var shift = 0
        switch request.source {
        case .scratch:
            context = []
            stop = try StopCondition(
                bars: request.tokens == nil ? (request.bars ?? 16) : nil, tokens: request.tokens,
                allowsEndOfPiece: request.allowsEndOfPiece)
            firstNewBar = 1
            decode = { [tokenizer] new in tokenizer.decode(ids: new) }
        case let .continuation(file, bars):
            let prompt = try promptIDs(from: file, bars: bars, controls: request.controls, resolved: resolved)
            context = prompt.ids
            shift = prompt.semitones
            stop = try StopCondition(
                bars: request.tokens == nil ? (request.bars ?? 16) : nil, tokens: request.tokens,
                allowsEndOfPiece: request.allowsEndOfPiece)
            firstNewBar = prompt.barsKept + 1
            generator.steering.opensNewBar = true
            decode = { [tokenizer] new in tokenizer.decode(ids: context + new) }
        case let .infill(file, bars):
            if request.controls.tempo != nil {
                // The bars around the gap keep the file's tempo map, and so do the new ones.
                throw GenerationError.invalidControl(
                    name: "tempo",
                    reason:
                        "an infill keeps the file's tempos; a tempo applies to new bars after a prompt or from scratch")
            }
            let fill = try Infilling(
                file: file, gap: (bars.lowerBound - 1)..<bars.upperBound, tokenizer: tokenizer,
                style: resolved.style, key: resolved.key)
            infilling = fill
            generator.steering.fillsGap = true
            context = fill.context
            stop = try StopCondition(bars: bars.count, allowsEndOfPiece: false)
            firstNewBar = bars.lowerBound
            decode = { new in try fill.splice(middle: new) }
        }

        var written: [Int] = []
        var finishedBars = 0
        let barID = tokenizer.vocabulary.id(for: .bar) ?? -1
        var failure: Error?
        var piece = try generator.generate(prompt: context, stop: stop, generator: &random) { progress in
            onToken?(progress)
            guard let onBar, failure == nil else { return }
            // A `Bar` opening new bar k + 1 closes bar k; the ids before it are that bar's end.
            if progress.id == barID && progress.bars > 1 {
                finishedBars = progress.bars - 1
                do { onBar(ComposedBar(bar: firstNewBar + finishedBars - 1, file: try decode(written))) } catch {
                    failure = error
                }
            }
            written.append(progress.id)
        }
        if let failure { throw failure }
        let newIDs = generator.steering.openingWithTempo(Array(piece.newIDs), tokenizer: tokenizer)
        piece.ids = Array(piece.ids[..<piece.promptLength]) + newIDs
        let file = try decode(newIDs)
        let lastBar = firstNewBar + max(piece.bars, 1) - 1
        if let onBar, piece.bars > finishedBars { onBar(ComposedBar(bar: lastBar, file: file)) }
        return ComposedPiece(
            file: file, generated: piece, transposition: shift, newBars: firstNewBar...lastBar,
            sawBarsAfterGap: infilling?.hasSuffix ?? false,
            newNotes: newIDs.filter(isNoteOn).count)
    }
}
