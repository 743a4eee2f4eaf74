import Corpus
import Foundation
import Generation
import MIDI
import Models
import REMI
import Tensor
import Testing
import Training
@testable import Evaluation

/// `cadenza eval`'s numbers: the same NLL as training's validation, and the derived figures.
struct PerplexityTests {
    static func temporaryFolder(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "cadenza-eval-\(name)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A corpus folder of `count` short pieces: `bars` bars of quarter notes walking up from a root.
    static func corpus(count: Int, bars: Int) throws -> URL {
        let folder = temporaryFolder("corpus")
        for i in 0..<count {
            var notes: [Note] = []
            for beat in 0..<(bars * 4) {
                let pitch = 48 + i + [0, 4, 7, 12, 16][(beat + i) % 5]
                notes.append(
                    Note(
                        start: beat * 480, end: beat * 480 + 300 + 20 * (beat % 4), pitch: pitch,
                        velocity: 50 + 3 * beat % 40))
            }
            try MIDIFile(tracks: [Track(notes: notes)], tempoChanges: [TempoChange(tick: 0, bpm: Double(100 + 5 * i))])
                .write(to: folder.appendingPathComponent("piece\(i).mid"))
        }
        return folder
    }

    /// Issue 8: eval gives the same NLL as the training loop's validation for the same
    /// checkpoint and data, here through the data path `cadenza eval` takes (corpus folder,
    /// split, token cut, validation batch).
    @Test(arguments: [ModelKind.transformerXL, .gpt2])
    func evalMatchesTrainingValidation(kind: ModelKind) throws {
        let tokenizer = try REMITokenizer()
        let data = try Self.corpus(count: 10, bars: 6)
        let run = Self.temporaryFolder("run")
        defer { try? FileManager.default.removeItem(at: data); try? FileManager.default.removeItem(at: run) }
        let config = ModelConfig.tiny(kind, vocabularySize: tokenizer.vocabulary.count)
        var options = TrainingOptions.defaults(
            for: kind,
            data: DataOptions(
                path: data.path, ratios: SplitRatios(validation: 0.3),
                cacheFolder: nil, augmentation: .none), steps: 4)
        options.batch = 3
        options.evalTokens = 500
        let trainingData = try TrainingData.load(
            options: options, tokenizer: tokenizer, segmentLength: config.segmentLength)
        #expect(trainingData.validation.count > 100)
        let summary = try Trainer(
            run: run, modelConfig: config, tokenizer: tokenizer, options: options, data: trainingData
        ).train()
        let trained = try #require(summary.validation)

        let checkpoint = try Checkpoint.read(Checkpoint.locate(run.path, preferBest: true))
        #expect(checkpoint.state.bestValidationLoss == trained.perToken)
        let evaluation = try EvaluationData.load(
            path: checkpoint.options.data.path, ratios: checkpoint.options.data.ratios,
            split: .validation, tokenizer: checkpoint.tokenizer, cacheFolder: nil,
            maximumTokens: checkpoint.options.evalTokens)
        #expect(evaluation.tokens == trainingData.validation)
        let batch = Perplexity.validationBatch(
            runBatch: checkpoint.options.batch, tokens: evaluation.tokens.count,
            segmentLength: config.segmentLength)
        let report = try Perplexity.evaluate(
            model: checkpoint.loadModel(), tokens: evaluation.tokens, batch: batch,
            vocabulary: checkpoint.tokenizer.vocabulary)
        #expect(report.nllPerToken == trained.perToken)
        #expect(report.tokens == trained.tokens)
        #expect(report.memoryLength == (kind == .gpt2 ? nil : config.memoryLength))
    }

    /// NLL per note divides by the notes among the scored targets: a GPT-2 reads whole windows
    /// only, so the tokens after the last one (and the very first) have no NLL in the sum and
    /// their notes must not count (they did, inflating the figure).
    @Test func nllPerNoteCountsOnlyTheScoredNotes() throws {
        let vocabulary = try REMITokenizer().vocabulary
        let config = ModelConfig.tiny(.gpt2, vocabularySize: vocabulary.count)
        let model = try LanguageModel(
            config: config, checkpoint: GPT2(config: config, generator: SeededGenerator(seed: 3)).checkpoint())
        let note = Int32(vocabulary.id(for: .noteOn(60)) ?? -1)
        let other = Int32(vocabulary.id(for: .bar) ?? -1)
        // Two windows and a half: the last half is read by no window. Notes fall on every third
        // token in the windows and on every token after them.
        let T = min(config.segmentLength, config.positions)
        let tokens = (0..<(2 * T + T / 2)).map { i in i > 2 * T || i % 3 == 1 ? note : other }
        let report = try Perplexity.evaluate(model: model, tokens: tokens, batch: 1, vocabulary: vocabulary)
        let scored = Array(1...(2 * T))
        #expect(report.tokens == scored.count)
        let notes = scored.filter { tokens[$0] == note }.count
        #expect(abs(report.nllPerNote - report.totalNLL / Double(notes)) < 1e-9 * report.nllPerNote)
    }

    /// Stepwise scoring through a float32 decoder is the model's own NLL (GPT-2 inside its
    /// window: the full forward's log-probabilities); int8 and int4 move it, but only a little.
    @Test func stepwiseScoringEqualsTheFullForward() throws {
        let vocabulary = try REMITokenizer().vocabulary
        let config = ModelConfig.tiny(.gpt2, vocabularySize: vocabulary.count)
        let model = try GPT2(config: config, generator: SeededGenerator(seed: 3))
        var g = SeededGenerator(seed: 4)
        let tokens = (0..<config.positions).map { _ in Int32.random(in: 0..<Int32(vocabulary.count), using: &g) }
        var dropout = DropoutSource.evaluation
        let logp = try model.forward(tokens: tokens, batch: 1, dropout: &dropout).logProbabilities
        let V = vocabulary.count
        let expected = (1..<tokens.count).reduce(0.0) { $0 - Double(logp.values[($1 - 1) * V + Int(tokens[$1])]) }

        let exact = try Perplexity.evaluateStepwise(
            stepper: GPT2Stepper(model: model, precision: .float32), tokens: tokens,
            memoryLength: nil, vocabulary: vocabulary)
        #expect(exact.tokens == tokens.count - 1)
        #expect(abs(exact.totalNLL - expected) < 1e-3, "\(exact.totalNLL) vs \(expected)")
        for precision in [DecoderMatrix.Precision.int8, .int4] {
            let rounded = try Perplexity.evaluateStepwise(
                stepper: GPT2Stepper(model: model, precision: precision), tokens: tokens,
                memoryLength: nil, vocabulary: vocabulary)
            #expect(rounded.totalNLL != exact.totalNLL, "\(precision)")
            #expect(abs(rounded.nllPerToken - exact.nllPerToken) < 0.01 * exact.nllPerToken, "\(precision)")
        }
    }

    @Test func derivedFiguresFollowFromTheNLL() throws {
        let r = NLLReport(memoryLength: 64, tokens: 1000, totalNLL: 2000 * log(2), notesPerToken: 0.25)
        #expect(abs(r.bitsPerToken - 2) < 1e-12)
        #expect(abs(r.perplexity - 4) < 1e-9)
        #expect(abs(r.nllPerNote - 4 * 2 * log(2)) < 1e-12)
        let json = try JSONEncoder().encode(r)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"nll_per_token\"") && text.contains("\"mem_len\":64"))
        #expect(try JSONDecoder().decode(NLLReport.self, from: json) == r)
        // No notes: NLL per note is undefined, and null in the JSON, as GPT-2's memory is.
        let empty = NLLReport(memoryLength: nil, tokens: 10, totalNLL: 5, notesPerToken: 0)
        #expect(empty.nllPerNote.isNaN)
        let emptyText = String(decoding: try JSONEncoder().encode(empty), as: UTF8.self)
        #expect(emptyText.contains("\"nll_per_note\":null") && emptyText.contains("\"mem_len\":null"))
    }

    @Test func notesAreCountedFromNoteOnIds() throws {
        let v = try Vocabulary()
        let ids = [
            REMIEvent.bar, .position(0), .velocity(10), .noteOn(60), .duration(3), .position(4), .velocity(10),
            .noteOn(64), .duration(3), .endOfPiece,
        ].map { Int32(v.id(for: $0)!) }
        #expect(Perplexity.notesPerToken(ids, vocabulary: v) == 0.2)
    }

    @Test func theSweepTableMarksTheTrainingMemory() {
        let sweep = MemorySweep(
            points: [
                NLLReport(memoryLength: 256, tokens: 10, totalNLL: 20, notesPerToken: 0.25),
                NLLReport(memoryLength: 128, tokens: 10, totalNLL: 21, notesPerToken: 0.25),
            ],
            trainingMemoryLength: 128)
        #expect(sweep.points.map(\.memoryLength) == [128, 256])
        let lines = sweep.table().split(separator: "\n")
        #expect(lines[1].contains("128*") && lines[1].contains("2.1000"))
        #expect(lines[2].contains("256 ") && lines[2].contains("2.0000"))
        #expect(sweep.chart(title: "t").series[0].points.map(\.y) == [2.1, 2.0])
    }
}
