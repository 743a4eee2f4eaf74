import ArgumentParser

/// The `cadenza` command: learn music from MIDI files and write new music as MIDI.
@main
struct Cadenza: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cadenza",
        abstract: "Learn music from MIDI files and write new music as MIDI.",
        version: "0.1.0",
        subcommands: [
            // Each command lives in its own file in this folder; add new ones to this list.
            Bench.self,
            TokenizeCommand.self,
            DetokenizeCommand.self,
            Doctor.self,
            Inspect.self,
            ModelInfo.self,
            PlotCommand.self,
            PlotLossCommand.self,
            RenderCommand.self,
            EvalCommand.self,
            MetricsCommand.self,
            GenerateCommand.self,
            TrainCommand.self,
            ExportCommand.self,
            InfoCommand.self,
        ]
    )
}
