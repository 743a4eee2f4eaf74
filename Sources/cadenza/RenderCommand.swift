import ArgumentParser
import Basics
import Foundation
import Generation
import MIDI

/// `cadenza render FILE.mid --out FILE.wav`: hear a MIDI file.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract:
            "Render a MIDI file to a 44.1 kHz 16-bit WAV file (FluidSynth, or a built-in tone per General MIDI family)."
    )

    enum Synth: String, ExpressibleByArgument, CaseIterable {
        case builtin, fluidsynth, auto
    }

    @Argument(help: "The MIDI file to render.")
    var input: String

    @Option(name: .shortAndLong, help: "Where to write the WAV (default: the input name with .wav).")
    var out: String?

    @Option(
        help:
            .init(
                "builtin: Cadenza's own piano tone; fluidsynth: FluidSynth with a General MIDI SoundFont; auto: "
                    + "FluidSynth "
                    + "when installed, else builtin.")
    )
    var synth: Synth = .auto

    @Option(
        parsing: .unconditional,
        help:
            .init(
                "Refuse pieces longer than this many minutes of sound, \(RenderLimit.minutesRange.lowerBound) to "
                    + "\(RenderLimit.minutesRange.upperBound) (a WAV file holds at most 4 GiB).")
    )
    var maxMinutes: Int = RenderLimit.defaultMinutes

    func validate() throws {
        try checkOutputs([("--out", out)], notAnyOf: [("the MIDI file", input)])
        guard RenderLimit.minutesRange.contains(maxMinutes) else {
            throw ValidationError(
                "--max-minutes must be between \(RenderLimit.minutesRange.lowerBound) and "
                    + "\(RenderLimit.minutesRange.upperBound), got \(maxMinutes)")
        }
    }

    func run() throws {
        // Ctrl-C stops between blocks and removes the unfinished file instead of leaving it.
        Interruption.handleStopsInCaller()
        do {
            try render()
        } catch RenderError.stopped {
            FileHandle.standardError.write(Data("cadenza render: \(RenderError.stopped)\n".utf8))
            throw ExitCode(Interruption.exitStatus)
        }
    }

    private func render() throws {
        let inputURL = URL(fileURLWithPath: input)
        let file = try readMIDI(input)
        let outURL = URL(fileURLWithPath: out ?? inputURL.deletingPathExtension().path + ".wav")
        try OutputPath.checkFile(outURL)
        let limit = RenderLimit(minutes: maxMinutes)
        if synth != .builtin {
            // Both synthesizers check it; checked here first, a piece too long is refused before
            // a word about FluidSynth (the built-in one measures its own length, release tails
            // included, and checks that).
            try limit.check(seconds: file.seconds)
            // Only a missing FluidSynth or SoundFont falls back; a FluidSynth that fails is an error.
            switch Result(catching: { try FluidSynth.locate() }) {
            case .success(let fluid):
                try fluid.render(midi: inputURL, to: outURL, limit: limit)
                print(
                    "wrote \(outURL.path) with FluidSynth (\(fluid.soundFont.lastPathComponent)), "
                        + "\(String(format: "%.1f", file.seconds)) s of music")
                return
            case .failure(let error):
                if synth == .fluidsynth { throw error }
                print("FluidSynth not used: \(error)\nUsing the built-in synthesizer.")
            }
        }
        let synthesizer = PianoSynthesizer()
        let levels = try synthesizer.write(file, to: outURL, limit: limit)
        print(
            "wrote \(outURL.path) with the built-in synthesizer: \(String(format: "%.1f", levels.seconds)) s, "
                + "peak \(String(format: "%.1f", levels.peakDecibels)) dBFS, RMS "
                + "\(String(format: "%.1f", levels.rmsDecibels)) dBFS"
        )
    }
}
