import ArgumentParser
import Basics
import Foundation
import Generation
import MIDI

/// `cadenza render FILE.mid --out FILE.wav`: hear a MIDI file.
struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a MIDI file to a 44.1 kHz 16-bit WAV file (built-in piano tone or FluidSynth).")

    enum Synth: String, ExpressibleByArgument, CaseIterable {
        case builtin, fluidsynth, auto
    }

    @Argument(help: "The MIDI file to render.")
    var input: String

    @Option(name: .shortAndLong, help: "Where to write the WAV (default: the input name with .wav).")
    var out: String?

    @Option(help: "builtin: Cadenza's own piano tone; fluidsynth: FluidSynth with a General MIDI SoundFont; auto: FluidSynth when installed, else builtin.")
    var synth: Synth = .auto

    @Option(parsing: .unconditional,
            help: "Refuse pieces longer than this many minutes, 1...\(RenderError.maximumMinutes) (a WAV takes about 5 MB a minute).")
    var maxMinutes: Int = 60

    func validate() throws {
        guard (1...RenderError.maximumMinutes).contains(maxMinutes) else {
            throw ValidationError("--max-minutes must be 1...\(RenderError.maximumMinutes), got \(maxMinutes)")
        }
    }

    func run() throws {
        let inputURL = URL(fileURLWithPath: input)
        let outURL = URL(fileURLWithPath: out ?? inputURL.deletingPathExtension().path + ".wav")
        try OutputPath.checkFile(outURL)
        let file = try MIDIFile(contentsOf: inputURL)
        let synthesizer = PianoSynthesizer()
        let limit = Double(maxMinutes) * 60
        // Checked before either synthesizer runs: FluidSynth would write the whole length too.
        let length = synthesizer.seconds(of: file)
        guard length <= limit else { throw RenderError.tooLong(seconds: length, limit: limit) }
        if synth != .builtin {
            // Only a missing FluidSynth or SoundFont falls back; a FluidSynth that fails is an error.
            switch Result(catching: { try FluidSynth.locate() }) {
            case .success(let fluid):
                try fluid.render(midi: inputURL, to: outURL)
                print("wrote \(outURL.path) with FluidSynth (\(fluid.soundFont.lastPathComponent)), "
                      + "\(String(format: "%.1f", file.seconds)) s of music")
                return
            case .failure(let error):
                if synth == .fluidsynth { throw error }
                print("FluidSynth not used: \(error)\nUsing the built-in piano tone.")
            }
        }
        let samples = try synthesizer.render(file, maximumSeconds: limit)
        try WAV.write(samples: samples, sampleRate: synthesizer.sampleRate, to: outURL)
        let levels = SignalLevels(samples: samples, sampleRate: synthesizer.sampleRate)
        print("wrote \(outURL.path) with the built-in piano: \(String(format: "%.1f", levels.seconds)) s, "
              + "peak \(String(format: "%.1f", levels.peakDecibels)) dBFS, RMS \(String(format: "%.1f", levels.rmsDecibels)) dBFS")
    }
}
