import ArgumentParser
import Foundation
import Models
import Tensor

/// `cadenza-bench models`: training, evaluation and generation speed of Transformer-XL and
/// GPT-2 at the `small` preset, and the process's peak memory. `Benchmarks/models/compare.sh`
/// runs each workload in its own process beside the PyTorch baseline and prints the ratios.
extension DecoderMatrix.Precision: ExpressibleByArgument {}
extension GEMM.Precision: ExpressibleByArgument {}

struct BenchModels: ParsableCommand {
    /// The model named on the command line, in either spelling (`txl` or `transformer-xl`, `gpt2` or `gpt-2`).
    static func kind(_ name: String) -> ModelKind? {
        switch name.lowercased() {
        case "txl", "transformer-xl": return .transformerXL
        case "gpt2", "gpt-2": return .gpt2
        default: return nil
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "Time training, evaluation and generation of the small Transformer-XL and GPT-2.")

    @Option(help: "txl, gpt2 or all (transformer-xl and gpt-2 are accepted too).")
    var model = "all"

    @Option(help: "train, eval, generate or all.")
    var phase = "all"

    @Option(help: "Model preset (tiny or small).")
    var preset = "small"

    @Option(help: "Vocabulary size in tokens.")
    var vocabulary = 300

    @Option(help: "Streams per training/evaluation batch.")
    var batch = 16

    @Option(help: "Steps per timed repeat (train and eval).")
    var steps = 3

    @Option(help: "Timed repeats; the figure is their median.")
    var repeats = 5

    @Option(help: "Transformer-XL memory rows during generation.")
    var generationMemory = 512

    @Option(help: "Tokens generated per repeat.")
    var generateTokens = 128

    @OptionGroup var threadOptions: BenchThreads

    @Option(help: "Generation: the decoders' weight precision, float32, float16, int8 or int4.")
    var precision: DecoderMatrix.Precision = .float32

    @Option(
        help:
            "Training and evaluation: the products' precision, float32, bf16 or fp16 (as `cadenza train --precision`)."
    )
    var productPrecision: GEMM.Precision = .float32

    @Option(
        help:
            .init(
                "Instead of timing: write a tiny Transformer-XL checkpoint, its tokens and Cadenza's log-probabilities "
                    + "into this folder (for Benchmarks/reference-txl-check.py).")
    )
    var exportReference: String?

    func validate() throws {
        guard model == "all" || Self.kind(model) != nil else {
            throw ValidationError("--model must be txl, gpt2 or all, got '\(model)'")
        }
        guard phase == "all" || ModelBenchmark.Phase(rawValue: phase) != nil else {
            throw ValidationError("--phase must be train, eval, generate or all")
        }
        guard batch >= 1, steps >= 1, repeats >= 1, generateTokens >= 1, generationMemory >= 1, vocabulary >= 2 else {
            throw ValidationError(
                "--batch, --steps, --repeats, --generate-tokens, --generation-memory must be at least 1")
        }
    }

    func run() throws {
        try threadOptions.apply()
        if let exportReference {
            try ReferenceExport.write(to: exportReference)
            print("wrote checkpoint, tokens and log-probabilities to \(exportReference)")
            return
        }
        GEMM.setPrecision(productPrecision)
        // The products are forced whatever the CPU, so that their plain loop can be timed; a
        // figure from it is not what `train` would do here. The loop runs either because the CPU
        // lacks the unit or because an environment variable asks for it.
        let (plain, cpuHasUnit, variable): (Bool, Bool, String) =
            switch productPrecision {
            case .float32: (false, true, "")
            case .bfloat16: (BFloat16GEMM.path == .plain, BFloat16GEMM.cpuPath != .plain, "CADENZA_BF16_PATH")
            case .float16: (Float16GEMM.path == .plain, Float16GEMM.cpuPath != .plain, "CADENZA_FP16_PATH")
            }
        if plain {
            let why =
                cpuHasUnit
                ? "\(variable)=plain makes these products run their plain C loop, although this CPU has the "
                    + "\(productPrecision.rawValue) unit; `cadenza train --precision \(productPrecision.rawValue)` "
                    + "under the same setting trains in float32"
                : "this CPU has no \(productPrecision.rawValue) unit, so these products run their plain C loop; "
                    + "`cadenza train --precision \(productPrecision.rawValue)` trains in float32 here"
            FileHandle.standardError.write(Data("note: \(why)\n".utf8))
        }
        let kinds: [ModelKind] = model == "all" ? [.transformerXL, .gpt2] : [Self.kind(model) ?? .transformerXL]
        let phases = phase == "all" ? ModelBenchmark.Phase.allCases : [ModelBenchmark.Phase(rawValue: phase) ?? .train]
        print(
            "cadenza-bench models: preset \(preset), vocabulary \(vocabulary), batch \(batch), \(Parallel.threadCount) "
                + "threads, \(repeats) repeats"
        )
        for kind in kinds {
            let config = try ModelConfig.preset(named: preset, kind: kind, vocabularySize: vocabulary)
            for phase in phases {
                let optimizer = TrainingStep(kind: kind)
                let m = try ModelBenchmark.run(
                    phase, config: config, batch: batch, steps: steps, repeats: repeats,
                    generationMemory: generationMemory, tokens: generateTokens,
                    decoderPrecision: precision, update: optimizer.update)
                let spread = m.tokensPerSecond.sorted()
                print(
                    "RESULT model=\(kind.rawValue) phase=\(phase.rawValue)"
                        + (productPrecision == .bfloat16 && phase != .generate ? "-bf16 " : " ")
                        + "tokens_per_s=\(String(format: "%.1f", m.median))"
                        + " min=\(String(format: "%.1f", spread.first ?? 0)) "
                        + "max=\(String(format: "%.1f", spread.last ?? 0))"
                        + " peak_rss_mib=\(ModelBenchmark.peakResidentBytes() / 1_048_576)")
            }
        }
    }
}

/// The optimizer work of one training step, as the spec trains each model: Transformer-XL
/// with Adam and clipping at 0.25, GPT-2 with AdamW (0.9, 0.95) and clipping at 1.0. The
/// optimizer is created on first use over the model's parameters in order.
final class TrainingStep {
    private let kind: ModelKind
    private var adam: Adam?

    init(kind: ModelKind) { self.kind = kind }

    func update(_ parameters: [(String, Tensor)], _ gradients: [(String, Tensor)]) {
        if adam == nil {
            adam = Adam(
                pairs: zip(parameters, gradients).map { (parameter: $0.1, gradient: $1.1) },
                configuration: kind == .gpt2 ? .adamW(beta1: 0.9, beta2: 0.95) : .adam)
        }
        GradientClipping.clip(gradients.map(\.1), maxNorm: kind == .gpt2 ? 1.0 : 0.25)
        adam?.update(learningRate: 2.5e-4)
    }
}

/// The reference check's Cadenza side: a tiny Transformer-XL (spec init, then sharpened so
/// every term matters), 3 segments of 2 streams, and the log-probabilities Cadenza computes.
enum ReferenceExport {
    static func write(to directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var config = ModelConfig.tiny(.transformerXL, vocabularySize: 50)
        config.segmentLength = 12
        config.memoryLength = 20
        let model = try TransformerXL(config: config, generator: SeededGenerator(seed: 2024))
        var generator = SeededGenerator(seed: 7)
        for (_, t) in model.parameters.namedTensors() {
            for i in 0..<t.count { t[i] += 0.3 * generator.nextNormal() }
        }
        let (B, segments, T) = (2, 3, config.segmentLength)
        var tokens: [Int32] = []
        for _ in 0..<(B * segments * T) { tokens.append(Int32(Int.random(in: 0..<50, using: &generator))) }
        var memory = model.emptyMemory(batch: B)
        var dropout = DropoutSource.evaluation
        let tokenValues: [Float] = tokens.map { Float($0) }
        var outputs: [String: Tensor] = ["tokens": Tensor(shape: [B, segments * T], values: tokenValues)]
        for s in 0..<segments {
            var segment: [Int32] = []
            for b in 0..<B {
                let first: Int = b * segments * T + s * T
                segment += tokens[first..<(first + T)]
            }
            outputs["segment\(s).logp"] = try model.forward(
                tokens: segment, batch: B, memory: &memory,
                dropout: &dropout
            ).logProbabilities
        }
        try model.checkpoint().write(to: directory + "/model.safetensors")
        try SafetensorsFile(tensors: outputs, metadata: ["config": config.json()]).write(
            to: directory + "/cadenza.safetensors")
    }
}
