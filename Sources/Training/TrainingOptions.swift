import Corpus
import Foundation
import Models
import Tensor

/// Where the data comes from and how it is split; saved with the run so `--resume` reads the
/// same data.
public struct DataOptions: Codable, Equatable, Sendable {
    /// A folder, a list file or a MAESTRO-style CSV (see `CorpusSource`).
    public var path: String
    /// Split shares used when the data has no split column.
    public var ratios: SplitRatios
    /// The token cache folder (nil: no cache).
    public var cacheFolder: String?
    /// Augmentation of the training split.
    public var augmentation: Augmentation
    /// The control tokens' arrangement (headers, infilling examples) for a tokenizer with
    /// controls; nil: pieces are read as they are.
    public var controls: ControlArrangement? = nil
    /// The style of pieces whose corpus names none (a style name as `CorpusFile.styleName` spells it).
    public var defaultStyle: String? = nil

    /// Creates data options.
    public init(
        path: String, ratios: SplitRatios = SplitRatios(), cacheFolder: String? = TokenCache.defaultFolder.path,
        augmentation: Augmentation = .standard
    ) {
        self.path = path
        self.ratios = ratios
        self.cacheFolder = cacheFolder
        self.augmentation = augmentation
    }
}

/// Which optimiser and its hyperparameters (spec, "Training as in the reference" and "GPT-2").
public struct OptimizerOptions: Codable, Equatable, Sendable {
    /// Decoupled weight decay (AdamW) when > 0; 0 is plain Adam.
    public var weightDecay: Float
    /// Adam's beta1.
    public var beta1: Float
    /// Adam's beta2.
    public var beta2: Float
    /// Adam's epsilon.
    public var epsilon: Float

    /// Transformer-XL's reference: Adam, no weight decay, betas (0.9, 0.999).
    public static let transformerXL = OptimizerOptions(weightDecay: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
    /// GPT-2's recipe: AdamW (0.9, 0.95), weight decay 0.1.
    public static let gpt2 = OptimizerOptions(weightDecay: 0.1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8)

    /// The tensor engine's configuration for these options.
    public var configuration: Adam.Configuration {
        weightDecay > 0
            ? .adamW(beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
            : Adam.Configuration(beta1: beta1, beta2: beta2, epsilon: epsilon)
    }
}

/// Every training hyperparameter; saved with each checkpoint so a resumed run continues with
/// exactly the same settings.
public struct TrainingOptions: Codable, Equatable, Sendable {
    /// B: streams (Transformer-XL) or windows (GPT-2) per step.
    public var batch: Int
    /// Total optimiser updates; the cosine schedule ends here.
    public var steps: Int
    /// Peak learning rate (per unit of the normalised gradient).
    public var learningRate: Float
    /// Linear warm-up updates.
    public var warmupSteps: Int
    /// Global gradient-norm clipping threshold.
    public var clip: Float
    /// Seed of every random choice (initialisation, dropout, order, augmentation).
    public var seed: UInt64
    /// Validate every this many updates (and at the end); 0: only at the end.
    public var evalEvery: Int
    /// Write the latest checkpoint every this many updates (and at the end).
    public var saveEvery: Int
    /// Validation reads at most this many tokens of the validation split (0: all of it).
    public var evalTokens: Int
    /// The optimiser.
    public var optimizer: OptimizerOptions
    /// The data.
    public var data: DataOptions
    /// The model folder whose weights the run started from (fine-tuning); nil when the
    /// weights were initialised from `seed`. Recorded for provenance only.
    public var initializedFrom: String?
    /// The products' arithmetic in the updates (nil: float32; validation is always float32).
    /// bfloat16 needs a CPU with AVX-512 BF16, float16 one with AVX-512 FP16; elsewhere the run
    /// trains in float32.
    public var precision: GEMM.Precision? = nil

    /// The precision the updates use on this CPU: bfloat16 or float16 only where it is asked for
    /// and the CPU has the unit for it.
    public var effectivePrecision: GEMM.Precision {
        switch precision {
        case .bfloat16 where BFloat16GEMM.path != .plain: .bfloat16
        case .float16 where Float16GEMM.path != .plain: .float16
        default: .float32
        }
    }

    /// Creates options.
    public init(
        batch: Int, steps: Int, learningRate: Float, warmupSteps: Int, clip: Float, seed: UInt64,
        evalEvery: Int, saveEvery: Int, evalTokens: Int, optimizer: OptimizerOptions, data: DataOptions,
        initializedFrom: String? = nil
    ) {
        self.batch = batch
        self.steps = steps
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.clip = clip
        self.seed = seed
        self.evalEvery = evalEvery
        self.saveEvery = saveEvery
        self.evalTokens = evalTokens
        self.optimizer = optimizer
        self.data = data
        self.initializedFrom = initializedFrom
    }

    /// The warm-up when none is given: a tenth of the run, at most 1,000 updates.
    public static func defaultWarmupSteps(steps: Int) -> Int { min(1000, steps / 10) }

    /// The spec's defaults for `kind`: Adam lr 2.5e-4, clip 0.25 for Transformer-XL; AdamW
    /// (0.9, 0.95), clip 1.0 for GPT-2 (same peak rate, so the two compare on equal terms).
    public static func defaults(for kind: ModelKind, data: DataOptions, steps: Int = 1000) -> TrainingOptions {
        TrainingOptions(
            batch: 16, steps: steps, learningRate: 2.5e-4, warmupSteps: defaultWarmupSteps(steps: steps),
            clip: kind == .gpt2 ? 1.0 : 0.25, seed: 1, evalEvery: 500, saveEvery: 500, evalTokens: 65_536,
            optimizer: kind == .gpt2 ? .gpt2 : .transformerXL, data: data)
    }

    /// The learning rate schedule: linear warm-up, cosine to 0 at `steps`.
    public var schedule: LearningRateSchedule {
        .warmupCosine(peak: learningRate, warmupSteps: warmupSteps, totalSteps: steps)
    }

    /// Throws `TrainingError.invalidOption` for the first value that cannot work.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: Any, _ rule: String) throws {
            if !ok { throw TrainingError.invalidOption(name: name, value: "\(value)", rule: rule) }
        }
        try check(batch >= 1, "batch", batch, "must be at least 1")
        try check(steps >= 1, "steps", steps, "must be at least 1")
        try check(learningRate > 0 && learningRate.isFinite, "lr", learningRate, "must be a positive number")
        try check(warmupSteps >= 0, "warmup", warmupSteps, "must not be negative")
        try check(clip > 0 && clip.isFinite, "clip", clip, "must be a positive number")
        try check(evalEvery >= 0, "eval-every", evalEvery, "must not be negative")
        try check(saveEvery >= 1, "save-every", saveEvery, "must be at least 1")
        try check(evalTokens >= 0, "eval-tokens", evalTokens, "must not be negative")
        try data.ratios.validate()
    }
}
