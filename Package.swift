// swift-tools-version: 6.1
import PackageDescription

/// Hot code is built for this machine's CPU: without `-target-cpu`, Swift emits baseline
/// x86-64 (SSE2) and `SIMD16<Float>` arithmetic becomes scalar library calls
/// (see docs/performance notes in docs/design.md). `-O` also applies in debug builds so that
/// `swift test` runs numeric kernels at release speed.
let hot: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "native", "-O"])]

let package = Package(
    name: "Cadenza",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "cadenza", targets: ["cadenza"]),
        .executable(name: "cadenza-bench", targets: ["CadenzaBench"]),
        .library(name: "CadenzaMIDI", targets: ["MIDI"]),
        .library(name: "CadenzaREMI", targets: ["REMI"]),
        .library(name: "CadenzaTensor", targets: ["Tensor"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // The studio's HTTP server (docs/studio.md).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        // Header names in the studio's tests (Hummingbird's own dependency).
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // The layers (docs/design.md; ArchitectureTests holds every edge to them). A module
        // depends only on modules of lower layers.
        // Layer 0: files written whole, Ctrl-C without half-written output, strict settings keys.
        .target(name: "Basics"),
        // Layer 0: the one kernel Swift cannot express: int8 dot products with AVX-512 VNNI.
        // Tuned for the build machine like the Swift targets (`hot`); each kernel that needs a CPU
        // extension also carries it as a target attribute and is chosen at run time from the CPU.
        // +fast-dpwssd: tuning for some Intel cores, clang otherwise splits VNNI's vpdpwssd into two
        // instructions, which made the many-token int8 kernel slower on those very cores
        // (docs/tensor-kernels.md).
        .target(
            name: "TensorKernels",
            cSettings: [
                .unsafeFlags(["-O3", "-march=native", "-Xclang", "-target-feature", "-Xclang", "+fast-dpwssd"])
            ]),
        // Layer 1: Standard MIDI Files. Knows nothing of music theory or models.
        .target(name: "MIDI", dependencies: ["Basics"], swiftSettings: hot),
        // Layer 1: the CPU tensor engine. Knows nothing of music.
        .target(name: "Tensor", dependencies: ["Basics", "TensorKernels"], swiftSettings: hot),
        // Layer 1: drawing: RGB canvas, bitmap font, line charts, PNG encoder.
        .target(name: "Plot", dependencies: ["Basics"], swiftSettings: hot),
        // Layer 2: REMI events, vocabulary, tokenizer.
        .target(name: "REMI", dependencies: ["Basics", "MIDI"], swiftSettings: hot),
        // Layer 2: Transformer-XL and GPT-2, and their runtime: LanguageModel (forward and
        // backward for training and scoring) and the token steppers (generation).
        .target(name: "Models", dependencies: ["Basics", "Tensor"], swiftSettings: hot),
        // Layer 3: corpora: MIDI files found, splits, the token cache, batches, validation samples.
        .target(name: "Corpus", dependencies: ["Basics", "MIDI", "REMI", "Tensor"], swiftSettings: hot),
        // Layer 3: sampling under the grammar, model bundles, synthesis, piano rolls.
        .target(
            name: "Generation", dependencies: ["Basics", "MIDI", "REMI", "Tensor", "Models", "Plot"], swiftSettings: hot
        ),
        // Layer 4: NLL (the one scoring function training validates with), musical metrics, reports.
        .target(name: "Evaluation", dependencies: ["MIDI", "REMI", "Models", "Corpus", "Plot"], swiftSettings: hot),
        // Layer 5: the trainer, augmentation, checkpoints, runs.
        .target(
            name: "Training",
            dependencies: ["Basics", "MIDI", "REMI", "Tensor", "Models", "Corpus", "Evaluation", "Generation"],
            swiftSettings: hot),
        // Layer 4: the studio: a local web page over one Composer per model, served by Hummingbird.
        .target(
            name: "Studio",
            dependencies: [
                "Basics", "MIDI", "REMI", "Models", "Generation",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            resources: [.copy("Resources")]),
        // Layer 6: the command line: thin commands over the modules above.
        .executableTarget(
            name: "cadenza",
            dependencies: [
                "Basics", "MIDI", "REMI", "Tensor", "Models", "Corpus", "Training", "Generation", "Evaluation", "Plot",
                "Studio", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            resources: [.copy("Resources/Pretrained"), .copy("Resources/Pop")],
            swiftSettings: hot),

        // The benchmarks: measurement, not product (docs/benchmarks.md has their figures).
        .executableTarget(
            name: "CadenzaBench",
            dependencies: [
                "Basics", "MIDI", "REMI", "Tensor", "Models", "Corpus", "Generation", "Training", "Plot",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/Swift",
            swiftSettings: hot),

        .testTarget(name: "BasicsTests", dependencies: ["Basics"]),
        .testTarget(name: "MIDITests", dependencies: ["MIDI"]),
        .testTarget(name: "REMITests", dependencies: ["REMI", "MIDI"]),
        .testTarget(name: "TensorTests", dependencies: ["Tensor", "TensorKernels"], swiftSettings: hot),
        // PyTorch/ holds the script that runs an exported model in PyTorch (TransformerXLReferenceTests).
        .testTarget(
            name: "ModelsTests", dependencies: ["Basics", "Models", "Tensor"], exclude: ["PyTorch"], swiftSettings: hot),
        .testTarget(name: "CorpusTests", dependencies: ["Corpus", "Tensor"], swiftSettings: hot),
        .testTarget(
            name: "TrainingTests",
            dependencies: ["Basics", "Corpus", "Evaluation", "Training", "Models", "Tensor", "REMI", "MIDI"],
            swiftSettings: hot),
        .testTarget(
            name: "GenerationTests", dependencies: ["Generation", "Models", "REMI", "MIDI"],
            swiftSettings: hot),
        .testTarget(
            name: "EvaluationTests",
            dependencies: [
                "Evaluation", "Corpus", "MIDI", "REMI", "Training", "Models", "Tensor",
                "Generation",
            ]),
        .testTarget(name: "PlotTests", dependencies: ["Plot"]),
        // The studio's server through Hummingbird's test client; web/ holds the page's node tests
        // and browser/ the Playwright test that drives Chromium (docs/studio.md).
        .testTarget(
            name: "StudioTests",
            dependencies: [
                "Studio", "Generation", "MIDI",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            exclude: ["web", "browser"]),
        // Runs the built `cadenza` binary as a user would (exit codes, messages, files left).
        .testTarget(name: "CLITests", dependencies: ["cadenza", "Basics", "MIDI", "REMI", "Tensor"]),
        // Reads Package.swift and the sources: imports match the listed modules, edges point down.
        .testTarget(name: "ArchitectureTests"),
    ],
    swiftLanguageModes: [.v5]
)
