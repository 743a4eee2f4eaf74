import ArgumentParser
import Corpus
import Foundation
import Generation
import MIDI
import Models
import REMI
import Tensor
import Training

/// `cadenza-bench controls`: how well a model with control tokens follows them, measured on
/// held-out music (docs/control.md; the tables in docs/results.md):
/// - infill: NLL of the real gap bars given both sides against the bars before only, and the
///   note density and pitch range of filled gaps against plain continuations, each against
///   the real bars;
/// - chords: the share of bars whose recognised chord is the one asked, against pieces written
///   without chords and real music scored against the same progressions (chance level);
/// - style: held-out pieces' NLL under each composer's token;
/// - key, density and tempo: the share of pieces that come out as asked.
struct BenchControls: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controls",
        abstract: "Measure infilling, chord, style, key, density and tempo control on held-out music.")

    @Option(help: "The model: a model folder, a checkpoint or a run folder.")
    var model: String

    @Option(help: "Held-out data: a MAESTRO-style CSV (its test split is read).")
    var data: String

    @Option(
        help:
            "Which measurements: infill, chords, style, other (key, density, tempo), or all; style-fit fits style biases."
    )
    var part: [String] = ["all"]

    @Option(help: "Held-out pieces for infilling and style (per composer).")
    var pieces = 40

    @Option(help: "Tokens scored from the start of each held-out piece for style.")
    var styleTokens = 512

    @Option(help: "Tokens read from the start of each training piece to fit style biases (style-fit).")
    var fitTokens = 2048

    @Option(help: "Training pieces per composer to fit style biases from (style-fit).")
    var fitPieces = 240

    @Option(parsing: .upToNextOption, help: "L2 weights on the style offsets to try (style-fit).")
    var styleL2: [Float] = [1e-2]

    @Option(help: "Where style-fit writes each fitted style-bias.json (a folder per L2 weight).")
    var styleOut: String?

    @Option(help: "Pieces written per setting for chords, key and density.")
    var samples = 8

    @Option(help: "Transformer-XL memory while scoring and writing.")
    var memLen = 512

    @Option(help: "Bars after the gap shown to the model when infilling.")
    var hintBars = Infilling.suffixBars

    @Option(
        help:
            "Infilling gaps per held-out piece: bars 9-12, then 17-20, 25-28 and so on, where the piece is long enough."
    )
    var gaps = 1

    @Option(
        parsing: .upToNextOption,
        help: "Harmony guidance (nats; inf: chord or scale tones only) for the chord and key measurements.")
    var guidance: [Float] = [0, 2, 4, .infinity]

    @Option(help: "Seed of the first piece.")
    var seed: UInt64 = 1

    @OptionGroup var threadOptions: BenchThreads

    func run() throws {
        try threadOptions.apply()
        let (bundle, _) = try ModelFolder.named(model, resourceFolders: [])
        let tokenizer = bundle.tokenizer
        guard tokenizer.hasControls else { throw ValidationError("\(model) has no control tokens") }
        let stepper = try bundle.stepper(memoryLength: memLen, precision: .float32)
        let (files, _) = try CorpusSource.files(at: data, ratios: SplitRatios())
        let test = files.filter { $0.split == .test }
        let parts = Set(part.contains("all") ? ["infill", "chords", "style", "other"] : part)
        print("cadenza-bench controls: \(model), \(test.count) test files, memory \(memLen), seed \(seed)")
        let lab = Lab(stepper: stepper, tokenizer: tokenizer, seed: seed, hintBars: hintBars, guidance: guidance)
        if parts.contains("infill") { try lab.infill(test, pieces: pieces, gapsPerPiece: gaps) }
        if parts.contains("chords") { try lab.chords(test, samples: samples) }
        if parts.contains("style") {
            try lab.style(
                test, pieces: pieces, tokens: styleTokens,
                bias: StyleBias.read(from: bundle.folder, for: tokenizer))
        }
        if parts.contains("other") { try lab.keyDensityTempo(samples: samples) }
        if parts.contains("style-fit") {
            var options = StyleBiasFitting.Options()
            options.tokens = fitTokens
            options.piecesPerStyle = fitPieces
            try lab.styleFit(
                train: files, test: test, pieces: pieces, tokens: styleTokens, options: options, styleL2: styleL2,
                out: styleOut.map { URL(fileURLWithPath: $0) })
        }
    }
}

/// The measurements, sharing one model.
struct Lab {
    let stepper: TokenStepper
    let tokenizer: REMITokenizer
    let seed: UInt64
    let hintBars: Int
    let guidance: [Float]
    var vocabulary: Vocabulary { tokenizer.vocabulary }

    /// Total NLL of the music tokens of `target` (control tokens are read but not scored)
    /// read after `context` (which the model is primed with, after an `End Of Piece` as in
    /// generation), and how many were scored.
    func nll(of target: some Collection<Int>, after context: [Int]) throws -> (sum: Double, count: Int) {
        let each = try nlls(of: target, after: context).compactMap { $0 }
        return (each.reduce(0, +), each.count)
    }

    /// The NLL of each token of `target` as `nll(of:after:)` reads it; nil for a control token.
    func nlls(of target: some Collection<Int>, after context: [Int]) throws -> [Double?] {
        var lp = try stepper.prime([Int32(vocabulary.endOfPieceID)] + context.map { Int32($0) })
        var out: [Double?] = []
        for id in target {
            if isControl(id) {
                out.append(nil)
            } else {
                // The stepper's values are logits up to a constant: normalise.
                let maximum = lp.max() ?? 0
                let total = lp.reduce(0.0) { $0 + exp(Double($1 - maximum)) }
                out.append(-(Double(lp[id] - maximum) - log(total)))
            }
            lp = try stepper.step(Int32(id))
        }
        return out
    }

    /// Sums `each` (one NLL per token of `ids`, nil for controls) by the bar each token is in:
    /// (sum, count) for bars 0..<bars of `ids`, which starts with its first `Bar`.
    func byBar(_ each: [Double?], ids: [Int], bars: Int) -> [(Double, Int)] {
        var out = [(Double, Int)](repeating: (0, 0), count: bars)
        var bar = -1
        for (id, x) in zip(ids, each) {
            if case .bar? = vocabulary.event(for: id) { bar += 1 }
            guard let x, (0..<bars).contains(bar) else { continue }
            out[bar] = (out[bar].0 + x, out[bar].1 + 1)
        }
        return out
    }

    func isControl(_ id: Int) -> Bool { vocabulary.event(for: id)?.isControl == true }

    func generator(_ steering: Steering = Steering()) throws -> Generator {
        var g = try Generator(
            stepper: stepper, vocabulary: vocabulary,
            sampler: Sampler(temperature: Sampler.recommendedTemperature, topP: Sampler.recommendedTopP))
        g.steering = steering
        return g
    }

    func ids(of file: CorpusFile) -> [Int]? {
        guard let midi = try? MIDIFile(contentsOf: URL(fileURLWithPath: file.path)),
            let ids = try? tokenizer.tokenize(midi)
        else { return nil }
        return ids.filter { $0 != vocabulary.endOfPieceID }
    }

    /// Notes per bar and pitch range of a run of ids.
    func shape(_ ids: some Collection<Int>, bars: Int) -> (density: Double, range: Double) {
        var pitches: [Int] = []
        for id in ids { if case let .noteOn(p)? = vocabulary.event(for: id) { pitches.append(p) } }
        return (Double(pitches.count) / Double(bars), Double((pitches.max() ?? 0) - (pitches.min() ?? 0)))
    }

    // MARK: Infilling

    /// Scores and fills 4-bar gaps of the first `pieces` held-out pieces with at least 13 bars:
    /// bars 9-12, then (up to `gapsPerPiece`) 17-20, 25-28 and so on while a bar follows the
    /// gap, each given every bar before it. A piece's difference is over all of its gaps' tokens,
    /// so that the standard error counts pieces, not gaps of the same piece.
    func infill(_ test: [CorpusFile], pieces: Int, gapsPerPiece: Int) throws {
        let firstGap = 8, gapBars = 4, gapSpacing = 8
        var both = (0.0, 0), prefixOnly = (0.0, 0)
        var bothByBar = [(Double, Int)](repeating: (0, 0), count: gapBars), prefixByBar = bothByBar
        // Each piece's difference (with the hint minus without), nats per token of its gaps.
        var perPiece: [Double] = []
        var real: [(Double, Double)] = [], filled: [(Double, Double)] = [], continued: [(Double, Double)] = []
        var used = 0, gapCount = 0
        for (n, file) in test.enumerated() where used < pieces {
            guard let ids = ids(of: file) else { continue }
            let bars = tokenizer.barStarts(of: ids)
            guard bars.count >= firstGap + gapBars + 1 else { continue }
            let midi = try MIDIFile(contentsOf: URL(fileURLWithPath: file.path))
            var pieceDifference = 0.0, pieceTokens = 0
            for g in 0..<max(1, gapsPerPiece) {
                let start = firstGap + g * gapSpacing
                guard bars.count >= start + gapBars + 1 else { break }
                let gap = start..<(start + gapBars)
                let infilling = try Infilling(file: midi, gap: gap, tokenizer: tokenizer, hintBars: hintBars)
                let withSuffix = infilling.context
                let plain = Array(infilling.ids[..<infilling.barStarts[gap.lowerBound]])
                let middle = infilling.middle
                let middleIDs = Array(middle)
                let eachBoth = try nlls(of: middleIDs, after: withSuffix),
                    eachPrefix = try nlls(of: middleIDs, after: plain)
                for (i, (x, y)) in zip(
                    byBar(eachBoth, ids: middleIDs, bars: gapBars), byBar(eachPrefix, ids: middleIDs, bars: gapBars)
                ).enumerated() {
                    bothByBar[i] = (bothByBar[i].0 + x.0, bothByBar[i].1 + x.1)
                    prefixByBar[i] = (prefixByBar[i].0 + y.0, prefixByBar[i].1 + y.1)
                }
                // Control tokens are nil and not scored; both readings score the same tokens.
                let scoredBoth = eachBoth.compactMap { $0 }, scored = scoredBoth.count
                let a = scoredBoth.reduce(0, +), b = eachPrefix.compactMap { $0 }.reduce(0, +)
                pieceDifference += a - b
                pieceTokens += scored
                both = (both.0 + a, both.1 + scored)
                prefixOnly = (prefixOnly.0 + b, prefixOnly.1 + scored)
                real.append(shape(middle, bars: gapBars))
                let stop = try StopCondition(bars: gapBars, allowsEndOfPiece: false)
                // The first gap keeps the seeds it had when each piece had one gap.
                let pieceSeed = seed &+ UInt64(n) &+ UInt64(g) &* 1_000_003
                var random = SeededGenerator(seed: pieceSeed)
                let f = try generator(Steering(fillsGap: true)).generate(
                    prompt: withSuffix, stop: stop, generator: &random)
                random = SeededGenerator(seed: pieceSeed)
                let c = try generator(Steering(fillsGap: true)).generate(prompt: plain, stop: stop, generator: &random)
                filled.append(shape(f.newIDs, bars: gapBars))
                continued.append(shape(c.newIDs, bars: gapBars))
                gapCount += 1
            }
            perPiece.append(pieceDifference / Double(max(pieceTokens, 1)))
            used += 1
        }
        func mean(_ xs: [Double]) -> Double { xs.reduce(0, +) / Double(max(xs.count, 1)) }
        func gapMean(_ xs: [(Double, Double)], _ k: KeyPath<(Double, Double), Double>) -> Double {
            mean(zip(xs, real).map { abs($0.0[keyPath: k] - $0.1[keyPath: k]) })
        }
        if gapsPerPiece <= 1 {
            print("\n## Infilling: bars 9-12 of \(used) held-out pieces (8 bars before, up to 2 after)")
        } else {
            print(
                "\n## Infilling: \(gapCount) gaps of 4 bars (bars 9-12, 17-20, ...; up to \(gapsPerPiece) per piece) "
                    + "in \(used) held-out pieces (every bar before, up to 2 after)")
        }
        print("| context | NLL of the real gap bars (nats/token) | tokens |")
        print("|---|---|---|")
        print(String(format: "| bars before and after (infilling) | %.4f | %d |", both.0 / Double(both.1), both.1))
        print(
            String(
                format: "| bars before only (continuation) | %.4f | %d |", prefixOnly.0 / Double(prefixOnly.1),
                prefixOnly.1))
        let meanDifference = mean(perPiece)
        let spread = perPiece.reduce(0) { $0 + ($1 - meanDifference) * ($1 - meanDifference) }
        let standardError =
            (spread / Double(max(perPiece.count - 1, 1))).squareRoot() / Double(max(perPiece.count, 1)).squareRoot()
        print(
            String(
                format: "\nPer piece, with the hint minus without: %+.4f +- %.4f nats/token (mean, standard error; "
                    + "%.1f standard errors); lower with the hint in %d of %d pieces", meanDifference, standardError,
                abs(meanDifference) / max(standardError, .leastNormalMagnitude),
                perPiece.filter { $0 < 0 }.count, perPiece.count))
        print("\n| bar of the gap | tokens | bars before and after | bars before only | difference |")
        print("|---|---|---|---|---|")
        for (i, (x, y)) in zip(bothByBar, prefixByBar).enumerated() {
            let a = x.0 / Double(max(x.1, 1)), b = y.0 / Double(max(y.1, 1))
            let label = gapsPerPiece <= 1 ? "\(firstGap + i + 1)" : "\(i + 1) of 4"
            print("| \(label) " + String(format: "| %d | %.4f | %.4f | %+.4f |", x.1, a, b, a - b))
        }
        print(
            "\n| gap bars | notes per bar | pitch range | mean abs. difference from the real bars: notes per bar "
                + "| pitch range |"
        )
        print("|---|---|---|---|---|")
        print(String(format: "| real | %.1f | %.1f | - | - |", mean(real.map(\.0)), mean(real.map(\.1))))
        print(
            String(
                format: "| infilled | %.1f | %.1f | %.2f | %.2f |", mean(filled.map(\.0)), mean(filled.map(\.1)),
                gapMean(filled, \.0), gapMean(filled, \.1)))
        print(
            String(
                format: "| continued | %.1f | %.1f | %.2f | %.2f |", mean(continued.map(\.0)), mean(continued.map(\.1)),
                gapMean(continued, \.0), gapMean(continued, \.1)))
    }

    // MARK: Chords

    static let progressions = [
        "C:maj G:maj A:min F:maj", "A:min F:maj C:maj G:maj", "D:min G:dom C:maj A:min", "E:min C:maj G:maj D:maj",
        "F:maj A#:maj C:maj C:maj", "G:maj E:min C:maj D:dom",
    ]

    /// For each bar of `midi` from `firstBar`, whether the chord the recogniser gives the
    /// bar (its notes, cut at the bar lines, read as one window of the bar's length) is the
    /// progression's chord for that bar.
    func agreement(_ midi: MIDIFile, firstBar: Int, bars: Int, progression: [[PlannedChord]]) -> (Int, Int) {
        guard case let .ticksPerBeat(division) = midi.division else { return (0, 0) }
        let notes = midi.tracks.flatMap(\.notes).filter { !$0.isDrum }
        let beats = tokenizer.config.beatsPerBar
        let recogniser = ChordRecognizer(ticksPerBeat: division, windowBeats: [beats])
        let barTicks = division * beats
        var hits = 0
        for b in 0..<bars {
            let start = (firstBar + b) * barTicks, end = start + barTicks
            let inBar = notes.filter { $0.start < end && $0.end > start }.map {
                Note(start: max($0.start, start) - start, end: min($0.end, end) - start, pitch: $0.pitch, velocity: 1)
            }
            let label = recogniser.recognize(inBar).first?.label ?? .noChord
            if label == progression[b % progression.count].first?.label { hits += 1 }
        }
        return (hits, bars)
    }

    func chords(_ test: [CorpusFile], samples: Int) throws {
        let bars = 8
        var steered = [(Int, Int)](repeating: (0, 0), count: guidance.count)
        var notes = [Int](repeating: 0, count: guidance.count)
        var free = (0, 0), freeNotes = 0, realScore = (0, 0)
        let stop = try StopCondition(bars: bars, allowsEndOfPiece: false)
        for (p, text) in Self.progressions.enumerated() {
            let progression = try Steering.chords(parsing: text, config: tokenizer.config)
            for s in 0..<samples {
                let pieceSeed = seed &+ UInt64(p * 1000 + s)
                for (g, strength) in guidance.enumerated() {
                    var random = SeededGenerator(seed: pieceSeed)
                    var steering = Steering(chords: progression)
                    steering.harmonyGuidance = strength
                    let a = try generator(steering).generate(stop: stop, generator: &random)
                    let x = agreement(tokenizer.decode(ids: a.ids), firstBar: 0, bars: bars, progression: progression)
                    steered[g] = (steered[g].0 + x.0, steered[g].1 + x.1)
                    notes[g] += a.notes
                }
                var random = SeededGenerator(seed: pieceSeed)
                let b = try generator().generate(stop: stop, generator: &random)
                let y = agreement(tokenizer.decode(ids: b.ids), firstBar: 0, bars: bars, progression: progression)
                free = (free.0 + y.0, free.1 + y.1)
                freeNotes += b.notes
            }
            for file in test.prefix(samples) {
                guard let midi = try? MIDIFile(contentsOf: URL(fileURLWithPath: file.path)) else { continue }
                let z = agreement(midi, firstBar: 0, bars: bars, progression: progression)
                realScore = (realScore.0 + z.0, realScore.1 + z.1)
            }
        }
        func pct(_ x: (Int, Int)) -> String {
            String(format: "%.1f %% (%d of %d bars)", 100 * Double(x.0) / Double(max(x.1, 1)), x.0, x.1)
        }
        func perBar(_ n: Int) -> String {
            String(format: "%.1f", Double(n) / Double(max(Self.progressions.count * samples * bars, 1)))
        }
        print("\n## Chords: \(Self.progressions.count) progressions x \(samples) pieces of \(bars) bars")
        print("| music | bars whose recognised chord is the one asked | notes per bar |")
        print("|---|---|---|")
        for (g, strength) in guidance.enumerated() {
            print("| written with --chords, guidance \(strength) | \(pct(steered[g])) | \(perBar(notes[g])) |")
        }
        print("| written without chords, same seeds (chance) | \(pct(free)) | \(perBar(freeNotes)) |")
        print("| real held-out music, first \(bars) bars (chance) | \(pct(realScore)) | - |")
    }

    // MARK: Style

    /// The held-out table with the style token alone, and with the model's fitted bias
    /// (`style-bias.json`) where it has one.
    func style(_ test: [CorpusFile], pieces: Int, tokens: Int, bias: StyleBias?) throws {
        let (composers, readings) = try heldOutReadings(test, pieces: pieces, tokens: tokens)
        printStyleTable(
            "Style token alone: NLL (nats/token) of the first \(tokens) tokens of held-out pieces",
            composers: composers, readings: readings, bias: nil)
        if let bias {
            printStyleTable(
                "With the model's style bias (style-bias.json): NLL of the first \(tokens) tokens of held-out pieces",
                composers: composers, readings: readings, bias: bias)
        }
    }

    // MARK: Key, density, tempo

    func keyDensityTempo(samples: Int) throws {
        let bars = 8
        let stop = try StopCondition(bars: bars, allowsEndOfPiece: false)
        let keys = ["C:maj", "A:min", "G:maj", "E:min", "D#:maj", "F#:min"].compactMap(MusicalKey.init(parsing:))
        var asked = [(Int, Int)](repeating: (0, 0), count: guidance.count), free = (0, 0)
        for (k, key) in keys.enumerated() {
            for s in 0..<samples {
                let pieceSeed = seed &+ UInt64(k * 1000 + s)
                for (g, strength) in guidance.enumerated() {
                    var random = SeededGenerator(seed: pieceSeed)
                    var steering = Steering()
                    steering.header = [.key(key.index)]
                    steering.harmonyGuidance = strength
                    let a = try generator(steering).generate(stop: stop, generator: &random)
                    asked[g] = (asked[g].0 + (tokenizer.key(ofIDs: a.newIDs) == key ? 1 : 0), asked[g].1 + 1)
                }
                var random = SeededGenerator(seed: pieceSeed)
                let b = try generator().generate(stop: stop, generator: &random)
                free = (free.0 + (tokenizer.key(ofIDs: b.newIDs) == key ? 1 : 0), free.1 + 1)
            }
        }
        func pct(_ x: (Int, Int)) -> String {
            String(format: "%.1f %% (%d of %d)", 100 * Double(x.0) / Double(max(x.1, 1)), x.0, x.1)
        }
        print("\n## Key, density and tempo: \(samples) pieces of \(bars) bars per setting")
        print("| control | pieces that come out as asked | without the control (same seeds) |")
        print("|---|---|---|")
        for (g, strength) in guidance.enumerated() {
            print(
                "| --key (\(keys.map(\.name).joined(separator: ", "))), guidance \(strength): Krumhansl-Schmuckler key "
                    + "| \(pct(asked[g])) | \(pct(free)) |"
            )
        }
        for (d, name) in TokenizerConfig.densityNames.enumerated() {
            var hit = (0, 0), miss = (0, 0), total = 0.0
            for s in 0..<samples {
                let pieceSeed = seed &+ UInt64(100 + s)
                var random = SeededGenerator(seed: pieceSeed)
                var steering = Steering()
                steering.header = [.density(d)]
                let a = try generator(steering).generate(stop: stop, generator: &random)
                random = SeededGenerator(seed: pieceSeed)
                let b = try generator().generate(stop: stop, generator: &random)
                let perBar = shape(a.newIDs, bars: bars).density
                total += perBar
                if tokenizer.config.densityClass(notesPerBar: perBar) == d { hit.0 += 1 }
                if tokenizer.config.densityClass(notesPerBar: shape(b.newIDs, bars: bars).density) == d { miss.0 += 1 }
                hit.1 += 1
                miss.1 += 1
            }
            print(
                "| --density \(name): \(String(format: "%.1f", total / Double(samples))) notes per bar "
                    + "| \(pct(hit)) | \(pct(miss)) |"
            )
        }
        var tempoHits = (0, 0)
        for (t, bpm) in [60, 90, 120, 160].enumerated() {
            for s in 0..<samples {
                var random = SeededGenerator(seed: seed &+ UInt64(200 + t * 100 + s))
                let steering = Steering(tempoBPM: bpm)
                let a = try generator(steering).generate(stop: stop, generator: &random)
                // As `Composer` writes it: the first bar opens with the tempo after generation.
                let tempos = tokenizer.decode(ids: steering.openingWithTempo(a.ids, tokenizer: tokenizer)).tempoChanges
                if !tempos.isEmpty && tempos.allSatisfy({ Int($0.bpm.rounded()) == bpm }) { tempoHits.0 += 1 }
                tempoHits.1 += 1
            }
        }
        print("| --tempo (60, 90, 120, 160): every tempo of the file as asked | \(pct(tempoHits)) | - |")
    }
}
