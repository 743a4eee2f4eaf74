#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Basics
import Foundation
import MIDI

/// Why audio could not be rendered.
public enum RenderError: Error, Equatable, CustomStringConvertible {
    /// No `fluidsynth` program on the PATH.
    case fluidSynthNotFound
    /// No General MIDI SoundFont in the places searched.
    case soundFontNotFound(searched: [String])
    /// FluidSynth ran but failed or wrote nothing.
    case fluidSynthFailed(status: Int32, output: String)
    /// The piece lasts `seconds`, longer than the render limit of `limitMinutes`.
    case tooLong(seconds: Double, limitMinutes: Int)
    /// A stop was requested (Ctrl-C) before the file was complete; nothing was written.
    case stopped

    /// One line for the user: what went wrong and what to do.
    public var description: String {
        switch self {
        case .fluidSynthNotFound:
            return "FluidSynth is not installed. \(FluidSynth.installHint)"
        case .soundFontNotFound(let searched):
            return
                "no General MIDI SoundFont found (looked at \(searched.joined(separator: ", "))). "
                + "\(FluidSynth.installHint)"
        case .fluidSynthFailed(let status, let output):
            return "fluidsynth exited with status \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .tooLong(let seconds, let limit):
            let length = seconds.isFinite ? String(format: "%.1f minutes", seconds / 60) : "longer than any limit"
            let most = RenderLimit.minutesRange.upperBound
            let advice =
                seconds <= Double(most) * 60
                ? "raise it with \(RenderLimit.option) (at most \(most))"
                : "\(RenderLimit.option) goes up to \(most) minutes, which keeps the WAV file under its 4 GiB limit"
            return "the piece lasts \(length), over the render limit of \(limit) minutes: \(advice)"
        case .stopped:
            return "stopped before the file was complete; nothing was written"
        }
    }
}

/// FluidSynth (a SoundFont synthesizer) found on this machine at run time, with a General MIDI
/// SoundFont. Cadenza never links it; it runs the `fluidsynth` program to render a file.
public struct FluidSynth: Sendable, Equatable {
    /// The `fluidsynth` program.
    public let executable: URL
    /// The SoundFont used.
    public let soundFont: URL

    /// How to get FluidSynth and a SoundFont.
    public static let installHint =
        "On Debian or Ubuntu: sudo apt-get install fluidsynth fluid-soundfont-gm. "
        + "Elsewhere install FluidSynth and point CADENZA_SOUNDFONT at a General MIDI .sf2 file."

    /// Where Debian's fluid-soundfont-gm and similar packages put their General MIDI fonts.
    public static let soundFontCandidates = [
        "/usr/share/sounds/sf2/FluidR3_GM.sf2",
        "/usr/share/sounds/sf2/default-GM.sf2",
        "/usr/share/soundfonts/FluidR3_GM.sf2",
        "/usr/share/soundfonts/default.sf2",
        "/usr/local/share/soundfonts/default.sf2",
        "/opt/homebrew/share/soundfonts/default.sf2",
    ]

    /// Looks for `fluidsynth` on the PATH and a SoundFont (`CADENZA_SOUNDFONT` first, then the
    /// usual places).
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> FluidSynth
    {
        let fileManager = FileManager.default
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard
            let program = path.split(separator: ":").map({
                URL(fileURLWithPath: String($0)).appendingPathComponent("fluidsynth")
            })
            .first(where: { fileManager.isExecutableFile(atPath: $0.path) })
        else {
            throw RenderError.fluidSynthNotFound
        }
        let candidates = (environment["CADENZA_SOUNDFONT"].map { [$0] } ?? []) + soundFontCandidates
        guard let font = candidates.first(where: { fileManager.isReadableFile(atPath: $0) }) else {
            throw RenderError.soundFontNotFound(searched: candidates)
        }
        return FluidSynth(executable: program, soundFont: URL(fileURLWithPath: font))
    }

    /// Renders the MIDI file at `midi` to a 16-bit stereo WAV file at `wav`.
    /// `gain` is FluidSynth's master gain (its default 0.2 is quiet for a solo piano; 0.6
    /// leaves headroom for dense chords).
    ///
    /// The piece's length (to its last event, which is where FluidSynth stops) is checked against
    /// `limit` before FluidSynth starts. FluidSynth writes its own file, so it writes the hidden
    /// temporary name of `AtomicFile`, which is renamed to `wav` only when FluidSynth succeeded:
    /// a failure, a stop or a crash never leaves a partial WAV at `wav`.
    /// - Throws: `RenderError.tooLong`, `RenderError.fluidSynthFailed`, `RenderError.stopped`
    ///   (when `stopRequested` answers true while FluidSynth runs, which is then ended), a
    ///   `MIDIError` for an unreadable file, or `FileError` when `wav` cannot be written.
    public func render(
        midi: URL, to wav: URL, limit: RenderLimit = RenderLimit(), sampleRate: Int = 44_100,
        gain: Double = 0.6, stopRequested: () -> Bool = { Interruption.isRequested }
    ) throws {
        try limit.check(seconds: MIDIFile(contentsOf: midi).seconds)
        try OutputPath.checkFile(wav)
        try AtomicFile.write(to: wav) { temporary in
            try run(midi: midi, to: temporary, sampleRate: sampleRate, gain: gain, stopRequested: stopRequested)
        }
    }

    /// Runs `fluidsynth` to write `output`, ending it if a stop is requested.
    private func run(midi: URL, to output: URL, sampleRate: Int, gain: Double, stopRequested: () -> Bool) throws {
        // -n no MIDI input driver, -i no shell, -q quiet, -F fast-render to a file.
        let arguments = [
            "-n", "-i", "-q", "-g", String(gain), "-r", String(sampleRate),
            "-O", "s16", "-T", "wav", "-F", output.path, soundFont.path, midi.path,
        ]
        let outcome: Subprocess.Outcome
        do {
            outcome = try Subprocess.run(executable.path, arguments, stopWhen: stopRequested)
        } catch {
            throw RenderError.fluidSynthFailed(status: -1, output: "\(error)")
        }
        if outcome.stopped || stopRequested() { throw RenderError.stopped }
        let size = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? Int) ?? 0
        guard outcome.status == 0, size > 44 else {
            throw RenderError.fluidSynthFailed(
                status: outcome.status,
                output: outcome.outputText + String(decoding: outcome.errors, as: UTF8.self))
        }
    }
}
