import ArgumentParser
import Basics
import Foundation
import Generation
import MIDI
import Models
import REMI
import Tensor
import Training

/// `cadenza generate`: new music from a model, from scratch or continuing a prompt.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write new music as MIDI with a trained model (the bundled one by default).",
        discussion: """
            Tokens are drawn one at a time; by default only tokens that keep the REMI grammar valid \
            may be drawn, so every piece decodes to well-formed music. See docs/generation.md.
            """)

    @Option(
        name: [.customLong("model"), .customLong("checkpoint")],
        help: """
            Model: pretrained (the bundled piano model, the default), pop (the bundled three-part POP909 \
            arrangement model), a checkpoint folder or a training run folder (its best checkpoint, else latest).
            """)
    var checkpoint: String?

    @Option(help: "A MIDI file to continue.")
    var prompt: String?

    @Option(
        parsing: .unconditional,
        help:
            "How many bars of the prompt to keep (the model's bars: 4 beats for the bundled models, whatever the file's metre)."
    )
    var promptBars: Int = 4

    @Option(
        parsing: .unconditional,
        help: """
            New bars to write, 1...\(Self.maximumBars) (default: 16 when --tokens is not given); with --infill, \
            the bars to rewrite, as 5-8 (bars count from 1, in the model's bars: 4 beats for the bundled models).
            """)
    var bars: BarSelection?

    @OptionGroup(title: "Controls (docs/control.md)") var controls: ControlOptions

    @Option(
        parsing: .unconditional, help: "New tokens to write instead of a number of bars, 1...\(Self.maximumTokens).")
    var tokens: Int?

    @Option(
        parsing: .unconditional,
        help:
            .init(
                "Sampling temperature, \(Self.minimumTemperature)...100: below 1 safer, above 1 wilder. The default, "
                    + "with "
                    + "top-p 0.9, gave the pieces closest to real music of the settings measured (docs/generation.md).")
    )
    var temperature: Float = Sampler.recommendedTemperature

    @Option(parsing: .unconditional, help: "Draw only from the K most likely tokens (0: off).")
    var topK: Int = 0

    @Option(
        parsing: .unconditional, help: "Draw only from the most likely tokens whose probabilities sum to P (1: off).")
    var topP: Float = Sampler.recommendedTopP

    @Option(
        parsing: .unconditional, help: "Random seed; piece i uses seed + i. Default: drawn from the clock and printed.")
    var seed: UInt64?

    @Option(parsing: .unconditional, help: "Number of pieces, 1...\(Self.maximumCount).")
    var count: Int = 1

    @Option(
        name: .shortAndLong,
        help:
            .init(
                "Output: a .mid file, or a folder for several pieces (default: generated.mid, or generated/ with "
                    + "--count > "
                    + "1).")
    )
    var out: String?

    @Option(
        help:
            .init(
                "Also write the token ids: a .remi token file (with vocab.json beside it, for 'cadenza detokenize'), "
                    + "or a "
                    + "readable listing when the name ends in .txt.")
    )
    var tokensOut: String?

    @Option(
        parsing: .unconditional,
        help:
            .init(
                "Transformer-XL memory length while generating, in tokens (default: the model's training mem_len, or "
                    + "its segment length if it was trained without memory; may be longer).")
    )
    var memLen: Int?

    @Option(
        help:
            """
            How the model's weights are read while generating: int8 (the default where the CPU has AVX-512 VNNI \
            or AVX2, else float16; rows rounded to 8 bits, see docs/generation.md for its cost and speed), int4 (faster \
            again where int8's weights outgrow the cores' caches; rows rounded to 16 levels, which costs some \
            models more than others: `eval --choose-precision` measures it and makes int4 the model's default where \
            it costs nothing), float16 (exact for float16 models such as the bundled one) or float32 (the model's \
            exact numbers).
            """
    )
    var precision: DecoderMatrix.Precision?

    @Flag(help: "Sample without the REMI grammar constraint and report how often the grammar is broken.")
    var noGrammar = false

    @Flag(
        help: .init(
            "Let the model end the piece (End Of Piece) before the requested bars or tokens are written; by default "
                + "every one is written (with the grammar constraint, which keeps End Of Piece out until then)."))
    var allowEnd = false

    @OptionGroup var threadOptions: ThreadOptions

    /// Limits on what one command may ask for (docs/limits.md): generation time and memory grow
    /// with them.
    static let maximumBars = 4_096, maximumTokens = 1_048_576, maximumCount = 10_000
    /// Below this temperature the draw collapses onto the model's single most likely path,
    /// which for a model of recorded performances is silence or the end of the piece.
    static let minimumTemperature: Float = 0.1

    func validate() throws {
        // With --count above 1, --out and --tokens-out are folders, which may be the same one.
        try checkOutputs(
            count == 1 ? [("--out", out), ("--tokens-out", tokensOut)] : [],
            notAnyOf: [("--prompt", prompt), ("--infill", controls.infill)])
        if bars != nil && tokens != nil { throw ValidationError("give --bars or --tokens, not both") }
        if let bars, !(1...Self.maximumBars).contains(bars.count) {
            throw ValidationError("--bars must be 1...\(Self.maximumBars), got \(bars.count)")
        }
        if let bars, bars.isRange, bars.last > Infilling.lastBar {
            throw ValidationError(
                "--bars \(bars.first)-\(bars.last) reaches past bar \(Infilling.lastBar), the last an infill may "
                    + "rewrite (every bar before the gap is read first)")
        }
        if let bars, bars.isRange && controls.infill == nil {
            throw ValidationError(
                "--bars \(bars.first)-\(bars.last) is a range of bars to rewrite: give --infill FILE too")
        }
        if controls.infill != nil {
            guard bars != nil else { throw ValidationError("--infill needs --bars, the bars to rewrite (e.g. 5-8)") }
            let conflicting = [("--prompt", prompt != nil), ("--tokens", tokens != nil), ("--count", count != 1)]
            if let (name, _) = conflicting.first(where: { $0.1 }) {
                throw ValidationError("\(name) cannot be given with --infill: the file around the bars is the prompt")
            }
            if controls.tempo != nil {
                throw ValidationError(
                    "--tempo cannot be given with --infill: the rewritten bars keep the file's tempos")
            }
        }
        if let tokens, !(1...Self.maximumTokens).contains(tokens) {
            throw ValidationError("--tokens must be 1...\(Self.maximumTokens), got \(tokens)")
        }
        if !(1...Self.maximumBars).contains(promptBars) {
            throw ValidationError("--prompt-bars must be 1...\(Self.maximumBars), got \(promptBars)")
        }
        if !(1...Self.maximumCount).contains(count) {
            throw ValidationError("--count must be 1...\(Self.maximumCount), got \(count)")
        }
        if let memLen, !(1...ModelConfig.maximumLength).contains(memLen) {
            throw ValidationError("--mem-len must be 1...\(ModelConfig.maximumLength), got \(memLen)")
        }
        if temperature.isFinite && temperature >= 0 && temperature < Self.minimumTemperature {
            throw ValidationError(
                "--temperature must be at least \(Self.minimumTemperature), got \(temperature): "
                    + "greedy or near-greedy drawing collapses onto the model's single most likely path, "
                    + "which is empty bars or the end of the piece (try 0.8-1.4)")
        }
        if !(temperature >= Self.minimumTemperature && temperature <= 100) {
            throw ValidationError("--temperature must be \(Self.minimumTemperature)...100, got \(temperature)")
        }
        do { _ = try Sampler(temperature: temperature, topK: topK, topP: topP) } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        try threadOptions.apply()
        let outputs = OutputNames(out: out, tokensOut: tokensOut, count: count)
        try outputs.check()
        let bundle = try ModelLocation.bundle(checkpoint)
        if memLen != nil && bundle.config.kind == .gpt2 {
            throw ValidationError(
                "--mem-len applies to Transformer-XL; \(bundle.folder.path) is a GPT-2, which reads a window of "
                    + "\(bundle.config.positions) tokens")
        }
        try outputs.writeVocabulary(bundle.tokenizer.vocabulary)
        let composer = try Composer(model: bundle, memoryLength: memLen, precision: precision)
        let firstSeed = seed ?? UInt64(Date().timeIntervalSince1970 * 1000) % 1_000_000
        var request = PieceRequest(
            seed: firstSeed, sampler: try Sampler(temperature: temperature, topK: topK, topP: topP))
        request.controls = controls.music
        request.constrainedToGrammar = !noGrammar
        request.allowsEndOfPiece = allowEnd
        request.bars = tokens == nil ? (bars?.count ?? 16) : nil
        request.tokens = tokens
        if let infill = controls.infill, let bars {
            let file = try readMIDI(infill, for: "--infill")
            request.source = .infill(file, bars: bars.first...bars.last)
            noteOtherMetre(
                of: file, named: infill, bars: "--bars \(bars.first)-\(bars.last)", tokenizer: bundle.tokenizer)
        } else if let prompt {
            let file = try readMIDI(prompt, for: "--prompt")
            request.source = .continuation(file, bars: promptBars)
            noteOtherMetre(of: file, named: prompt, bars: "--prompt-bars \(promptBars)", tokenizer: bundle.tokenizer)
        }
        print(
            "model: \(bundle.config.kind.rawValue), \(bundle.config.parameterCount) parameters, from "
                + "\(bundle.folder.path)"
        )
        if precision == nil, let choice = bundle.decoderChoice, composer.precision == choice.precision {
            print(
                "weights: \(choice.precision.rawValue), this model's measured choice (\(ModelFolder.decodingFile): int4 "
                    + choice.int4CostText
                    + " NLL against int8)")
        }
        if let ignored = bundle.ignoredDecoderChoice {
            FileHandle.standardError.write(Data("note: \(ignored)\n".utf8))
        }
        if controls.partsEnterBy != nil && !bundle.tokenizer.config.hasInstruments {
            FileHandle.standardError.write(
                Data("note: --parts-enter-by has no effect: this model writes one part (it steers --model pop)\n".utf8))
        }
        if seed == nil { print("seed: \(firstSeed) (pass --seed \(firstSeed) to get the same music again)") }

        var violations = 0, generated = 0
        for i in 0..<count {
            request.seed = firstSeed &+ UInt64(i)
            let stop = try StopCondition(bars: request.bars, tokens: request.tokens)
            let line = ProgressLine(target: stop, label: count > 1 ? "piece \(i + 1)/\(count) " : "")
            let composed: ComposedPiece
            do { composed = try composer.compose(request, onToken: line.update) } catch let error as REMIError {
                // Only the source file can be what the tokenizer refuses (an SMPTE file, say).
                guard let source = controls.infill.map({ ("--infill", $0) }) ?? prompt.map({ ("--prompt", $0) }) else {
                    throw error
                }
                throw CommandFailure("\(source.0) \(source.1): \(error)")
            }
            line.finish()
            if i == 0 { report(composed) }
            let piece = composed.generated
            let midiURL = try outputs.midi(seed: request.seed)
            try composed.file.write(to: midiURL)
            try outputs.writeTokens(
                controls.infill == nil ? piece.ids : Array(piece.newIDs), seed: request.seed,
                tokenizer: bundle.tokenizer)
            let rate = piece.seconds > 0 ? Double(piece.newIDs.count) / piece.seconds : 0
            if let infill = controls.infill, let bars {
                print(
                    "wrote \(midiURL.path): bars \(bars.first)-\(bars.last) of \(infill) rewritten "
                        + "(\(piece.bars.counted("bar")), \(composed.newNotes.counted("note"))), every other bar kept; "
                        + "seed \(request.seed)"
                        + (composed.sawBarsAfterGap
                            ? "" : "; no bar follows the gap, so it was written as a continuation"))
            } else {
                print(
                    "wrote \(midiURL.path): seed \(request.seed), \(piece.bars.counted("new bar")), "
                        + "\(piece.notes.counted("note")), "
                        + "\(piece.newIDs.count.counted("new token")) in \(String(format: "%.1f", piece.seconds)) s "
                        + "(\(Int(rate)) tokens/s), stopped \(piece.stopReason.explanation)")
            }
            violations += piece.grammarViolations
            generated += piece.newIDs.count
        }
        if noGrammar {
            let share = generated > 0 ? 100 * Double(violations) / Double(generated) : 0
            print(
                "grammar: \(violations) of \(generated) sampled tokens broke the REMI grammar "
                    + "(\(String(format: "%.2f", share))%)"
            )
        }
    }

    /// Says that bars count the model's bars when `file`'s own are of another length.
    private func noteOtherMetre(of file: MIDIFile, named name: String, bars flag: String, tokenizer: REMITokenizer) {
        guard let other = tokenizer.otherMetre(in: file) else { return }
        print(
            "note: \(name) is marked \(other.numerator)/\(other.denominator); this model's bars are "
                + "\(tokenizer.config.beatsPerBar) beats long, and \(flag) counts them, not the file's own bars")
    }

    /// Says what was done to the prompt: moved to the asked key, or shorter than asked.
    private func report(_ composed: ComposedPiece) {
        if composed.transposition != 0 {
            let shift = composed.transposition
            print("prompt transposed by \(shift) semitone\(abs(shift) == 1 ? "" : "s") to \(controls.key ?? "")")
        }
        if let prompt, controls.infill == nil, composed.newBars.lowerBound - 1 < promptBars {
            let kept = composed.newBars.lowerBound - 1
            print(
                "note: the prompt \(prompt) has only \(kept.counted("bar")); all of it is kept "
                    + "(--prompt-bars \(promptBars))"
            )
        }
    }
}

extension StopReason {
    /// Why generation stopped, as the end of a sentence ("stopped at the end of the piece").
    var explanation: String {
        switch self {
        case .bars: return "after the bars asked for"
        case .tokens: return "after the tokens asked for"
        case .endOfPiece: return "at the end of the piece (the model wrote End Of Piece)"
        }
    }
}
