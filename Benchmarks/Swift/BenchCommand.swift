import ArgumentParser

/// `cadenza-bench …`: measured figures for each layer, printed with a baseline measured in the
/// same run where one exists. Kept apart from the `cadenza` product (as llm.c keeps its kernel
/// trials in `dev/`); results go into docs/benchmarks.md with the command used.
@main
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cadenza-bench",
        abstract:
            "Measure the speed of a layer of Cadenza (MIDI reading, tokenizing, GEMM, kernels, models); draw report charts.",
        subcommands: [
            // One file per benchmark (BenchMIDI.swift, ...); add each to this list.
            BenchGEMM.self,
            BenchDecoder.self,
            BenchMIDI.self,
            BenchKernels.self,
            BenchGenerate.self,
            BenchModels.self,
            BenchREMI.self,
            BenchControls.self,
            BenchStudio.self,
            BenchAllReduce.self,
            BenchBFloat16.self,
            BenchChart.self,
        ]
    )
}
