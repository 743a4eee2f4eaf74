import Models
import Foundation
import Tensor

/// The workloads `cadenza-bench models` times: the same shapes the PyTorch baseline script
/// (Benchmarks/models/torch_bench.py) runs, so the two can be compared number for number.
enum ModelBenchmark {
    /// What is timed.
    public enum Phase: String, CaseIterable, Sendable {
        /// Forward + backward (+ the optimizer step `update` does) at batch x segment, memory on.
        case train
        /// Forward only, no dropout, memory on.
        case eval
        /// Batch 1, one token at a time: Transformer-XL with a full memory, GPT-2 with a KV cache.
        case generate
    }

    /// One timed workload's result.
    public struct Measurement: Sendable {
        /// Tokens processed (or generated) per second, one value per repeat.
        public var tokensPerSecond: [Double]
        /// The median of `tokensPerSecond`.
        public var median: Double {
            let sorted = tokensPerSecond.sorted()
            return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
        }
    }

    /// Times `repeats` runs of `phase` for a model built from `config` (random weights, seed 1).
    ///
    /// - train: `steps` steps of `batch` x T tokens with memory carried (TXL) after one warm-up
    ///   step; `update` is called after each backward with the gradients (the optimizer step).
    /// - eval: the same shapes, forward only.
    /// - generate: batch 1; Transformer-XL's memory is first filled to `generationMemory` rows
    ///   by one forward, GPT-2's KV cache with `config.positions - tokens` rows; then `tokens`
    ///   tokens are decoded one by one, each the argmax of the previous step, by a decoder
    ///   (`TransformerXLDecoder`, `GPT2Decoder`) holding its weights in `decoderPrecision`.
    public static func run(
        _ phase: Phase, config: ModelConfig, batch: Int, steps: Int, repeats: Int,
        generationMemory: Int, tokens generated: Int,
        decoderPrecision: DecoderMatrix.Precision = .float32,
        update: (_ parameters: [(String, Tensor)], _ gradients: [(String, Tensor)]) -> Void = { _, _ in }
    )
        throws -> Measurement
    {
        var generator = SeededGenerator(seed: 2)
        let T = config.segmentLength
        func randomTokens(_ n: Int) -> [Int32] {
            (0..<n).map { _ in Int32(Int.random(in: 0..<config.vocabularySize, using: &generator)) }
        }
        var results: [Double] = []
        switch (config.kind, phase) {
        case (.transformerXL, .train), (.transformerXL, .eval):
            let model = try TransformerXL(config: config, generator: SeededGenerator(seed: 1))
            let gradients = model.parameters.zerosLike()
            var memory = model.emptyMemory(batch: batch)
            var dropout = phase == .train ? DropoutSource.training(SeededGenerator(seed: 3)) : .evaluation
            func step() throws {
                let pass = try model.forward(
                    tokens: randomTokens(batch * T), targets: randomTokens(batch * T),
                    batch: batch, memory: &memory, dropout: &dropout,
                    saveForBackward: phase == .train)
                if phase == .train {
                    gradients.zero()
                    model.backward(pass, gradients: gradients)
                    update(model.parameters.namedTensors(), gradients.namedTensors())
                }
            }
            try step()  // warm-up, and fills the memory to mem_len
            for _ in 0..<repeats {
                let seconds = try time { for _ in 0..<steps { try step() } }
                results.append(Double(steps * batch * T) / seconds)
            }
        case (.gpt2, .train), (.gpt2, .eval):
            let model = try GPT2(config: config, generator: SeededGenerator(seed: 1))
            let gradients = model.parameters.zerosLike()
            var dropout = phase == .train ? DropoutSource.training(SeededGenerator(seed: 3)) : .evaluation
            func step() throws {
                let pass = try model.forward(
                    tokens: randomTokens(batch * T), targets: randomTokens(batch * T),
                    batch: batch, dropout: &dropout, saveForBackward: phase == .train)
                if phase == .train {
                    gradients.zero()
                    model.backward(pass, gradients: gradients)
                    update(model.parameters.namedTensors(), gradients.namedTensors())
                }
            }
            try step()
            for _ in 0..<repeats {
                let seconds = try time { for _ in 0..<steps { try step() } }
                results.append(Double(steps * batch * T) / seconds)
            }
        case (.transformerXL, .generate):
            var c = config
            c.memoryLength = generationMemory
            let model = try TransformerXL(config: c, generator: SeededGenerator(seed: 1))
            for _ in 0..<repeats {
                var memory = model.emptyMemory(batch: 1)
                var dropout = DropoutSource.evaluation
                _ = try model.forward(
                    tokens: randomTokens(generationMemory), batch: 1, memory: &memory, dropout: &dropout,
                    saveForBackward: false)
                let decoder = try TransformerXLDecoder(model: model, memory: memory, precision: decoderPrecision)
                var token: Int32 = 0
                let seconds = try time {
                    for _ in 0..<generated { token = argmax(try decoder.step(tokens: [token])) }
                }
                results.append(Double(generated) / seconds)
            }
        case (.gpt2, .generate):
            let model = try GPT2(config: config, generator: SeededGenerator(seed: 1))
            let prefix = max(1, config.positions - generated)
            let decoder = GPT2Decoder(model: model, precision: decoderPrecision)
            for _ in 0..<repeats {
                decoder.reset()
                _ = try decoder.read(randomTokens(prefix))
                var token: Int32 = 0
                let seconds = try time {
                    for _ in 0..<min(generated, config.positions - prefix) {
                        token = argmax(try decoder.step(token))
                    }
                }
                results.append(Double(min(generated, config.positions - prefix)) / seconds)
            }
        }
        return Measurement(tokensPerSecond: results)
    }

    /// The process's peak resident memory so far, in bytes (Linux `ru_maxrss`).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
    }

    private static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    private static func argmax(_ logp: Tensor) -> Int32 {
        argmax(UnsafeBufferPointer(start: logp.pointer, count: logp.count))
    }

    private static func argmax(_ logp: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        for i in 1..<logp.count where logp[i] > logp[best] { best = i }
        return Int32(best)
    }
}
