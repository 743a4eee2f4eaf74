import ArgumentParser
import Foundation
import Generation
import Models
import REMI
import Tensor

/// `cadenza-bench generate`: batch-1 generation speed through the whole generation path
/// (model step, sampler, grammar mask), Transformer-XL at several memory lengths and GPT-2
/// with its KV cache, on randomly initialised weights. `Benchmarks/generate-compare.sh` runs
/// it beside the PyTorch baseline (Benchmarks/models/torch_bench.py --phase generate).
struct BenchGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Time batch-1 generation: Transformer-XL at several memory lengths, GPT-2 with its KV cache.")

    @Option(help: "Model preset (tiny or small).")
    var preset = "small"

    @Option(parsing: .upToNextOption, help: "Transformer-XL memory lengths to time.")
    var memories: [Int] = [128, 512, 2048]

    @Option(help: "Tokens generated per timed repeat (after the memory is full).")
    var tokens = 512

    @Option(help: "Timed repeats; figures are medians.")
    var repeats = 5

    @OptionGroup var threadOptions: BenchThreads

    @Option(help: "How the decoders read the weights: int8 (generate's default), int4, float16 or float32.")
    var precision: DecoderMatrix.Precision = .fastest

    @Flag(help: "Skip GPT-2.")
    var noGPT2 = false

    @Flag(help: "Skip Transformer-XL (to profile GPT-2 alone).")
    var noTransformerXL = false

    @Option(
        help: "GPT-2 window slides timed alone after the generation (median reported); raise it to profile a slide.")
    var slides = 6

    func validate() throws {
        guard ModelConfig.presetNames.contains(preset) else { throw ValidationError("--preset must be tiny or small") }
        guard tokens >= 16, repeats >= 1, slides >= 1, memories.allSatisfy({ $0 >= 1 }) else {
            throw ValidationError(
                "--tokens must be at least 16, --repeats, --slides and every memory length at least 1")
        }
    }

    func run() throws {
        try threadOptions.apply()
        let tokenizer = try REMITokenizer()
        let V = tokenizer.vocabulary.count
        print(
            "cadenza-bench generate: preset \(preset), vocabulary \(V), \(tokens) tokens x \(repeats) repeats, "
                + "\(Parallel.threadCount) threads, \(precision) weights (random), grammar on, temperature 1")
        if !noTransformerXL {
            let txl = try TransformerXL(
                config: ModelConfig.preset(named: preset, kind: .transformerXL, vocabularySize: V),
                generator: SeededGenerator(seed: 1))
            for memory in memories {
                let stepper = try TransformerXLStepper(model: txl, memoryLength: memory, precision: precision)
                // A prompt as long as the memory, so every timed token attends to a full memory.
                try report(
                    "model=transformer-xl mem=\(memory)",
                    measure(
                        stepper,
                        prompt: GenerationBenchmark.prompt(length: memory + 1, vocabulary: tokenizer.vocabulary),
                        vocabulary: tokenizer.vocabulary))
            }
        }
        if !noGPT2 {
            let gpt2 = try GPT2(
                config: ModelConfig.preset(named: preset, kind: .gpt2, vocabularySize: V),
                generator: SeededGenerator(seed: 1))
            let window = gpt2.config.positions
            let stepper = GPT2Stepper(model: gpt2, precision: precision)
            try report(
                "model=gpt2 window=\(window)",
                measure(
                    stepper, prompt: GenerationBenchmark.prompt(length: window / 2, vocabulary: tokenizer.vocabulary),
                    vocabulary: tokenizer.vocabulary))
            // A slide alone: the cache cleared and half a window and one token read again.
            let kept = GenerationBenchmark.prompt(length: window / 2 + 1, vocabulary: tokenizer.vocabulary).map {
                Int32($0)
            }
            var slideTimes: [Double] = []
            for _ in 0...slides {
                let clock = ContinuousClock(), start = clock.now
                _ = try stepper.prime(kept)
                let elapsed = clock.now - start
                slideTimes.append(1e3 * Self.seconds(elapsed))
            }
            print(
                "RESULT model=gpt2 phase=slide tokens=\(kept.count) ms=\(String(format: "%.2f", GEMMBenchmark.median(Array(slideTimes.dropFirst()))))"
            )
        }
    }

    private func measure(_ stepper: TokenStepper, prompt: [Int], vocabulary: Vocabulary) throws -> GenerationBenchmark {
        var result = GenerationBenchmark()
        let generator = try Generator(stepper: stepper, vocabulary: vocabulary, sampler: Sampler(temperature: 1))
        let stop = try StopCondition(tokens: tokens, allowsEndOfPiece: false)
        for repeatIndex in 0...repeats {
            var random = SeededGenerator(seed: UInt64(repeatIndex))
            // Time from the first new token on, so reading the prompt is not counted; the token
            // times give the rate in the first and the second half of the piece.
            var times = [Double](repeating: 0, count: tokens + 1)
            _ = try generator.generate(prompt: prompt, stop: stop, generator: &random) { times[$0.tokens] = $0.seconds }
            let half = tokens / 2
            if repeatIndex == 0 { continue }  // warm-up
            result.all.append(Double(tokens - 1) / (times[tokens] - times[1]))
            result.firstHalf.append(Double(half - 1) / (times[half] - times[1]))
            result.secondHalf.append(Double(tokens - half) / (times[tokens] - times[half]))
            // The model step alone (no sampler, no grammar), greedy, from the same prompt.
            var logProbabilities = try stepper.prime(prompt.map { Int32($0) })
            let clock = ContinuousClock(), start = clock.now
            for _ in 0..<tokens {
                var best = 0
                for i in 1..<logProbabilities.count where logProbabilities[i] > logProbabilities[best] { best = i }
                logProbabilities = try stepper.step(Int32(best))
            }
            let elapsed = clock.now - start
            result.stepOnly.append(Double(tokens) / Self.seconds(elapsed))
        }
        return result
    }

    /// `duration` in seconds.
    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
    }

    private func report(_ label: String, _ m: GenerationBenchmark) {
        func f(_ values: [Double]) -> String { String(format: "%.1f", GEMMBenchmark.median(values)) }
        let sorted = m.all.sorted()
        print(
            "RESULT \(label) phase=generate tokens_per_s=\(f(m.all)) min=\(String(format: "%.1f", sorted.first ?? 0)) "
                + "max=\(String(format: "%.1f", sorted.last ?? 0)) first_half=\(f(m.firstHalf)) "
                + "second_half=\(f(m.secondHalf)) "
                + "step_only=\(f(m.stepOnly)) us_per_token=\(String(format: "%.0f", 1e6 / GEMMBenchmark.median(m.all)))"
        )
    }
}

/// Rates of one configuration over the repeats, in tokens per second.
struct GenerationBenchmark {
    var all: [Double] = [], firstHalf: [Double] = [], secondHalf: [Double] = [], stepOnly: [Double] = []

    /// A grammatical prompt of `length` ids: bars of four notes, pitches walking a scale.
    static func prompt(length: Int, vocabulary v: Vocabulary) -> [Int] {
        var ids: [Int] = []
        var pitch = 48
        func id(_ e: REMIEvent) -> Int { v.id(for: e) ?? 0 }
        while ids.count < length {
            ids.append(id(.bar))
            for position in stride(from: 0, to: 16, by: 4) {
                ids += [id(.position(position)), id(.velocity(20)), id(.noteOn(pitch)), id(.duration(3))]
                pitch = 48 + (pitch - 47) % 24
            }
        }
        // End on a complete item: cut back to the last Note Duration.
        let durations = Set((0..<v.config.durationSteps).compactMap { v.id(for: .duration($0)) })
        var end = min(length, ids.count)
        while end > 1 && !durations.contains(ids[end - 1]) { end -= 1 }
        return Array(ids.prefix(end))
    }
}
