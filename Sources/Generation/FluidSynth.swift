import Basics
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Why audio could not be rendered.
public enum RenderError: Error, Equatable, CustomStringConvertible {
    /// No `fluidsynth` program on the PATH.
    case fluidSynthNotFound
    /// No General MIDI SoundFont in the places searched.
    case soundFontNotFound(searched: [String])
    /// FluidSynth ran but failed or wrote nothing.
    case fluidSynthFailed(status: Int32, output: String)
    /// The piece lasts `seconds`, longer than the `limit` a render may write.
    case tooLong(seconds: Double, limit: Double)

    public var description: String {
        switch self {
        case .fluidSynthNotFound:
            return "FluidSynth is not installed. \(FluidSynth.installHint)"
        case .soundFontNotFound(let searched):
            return "no General MIDI SoundFont found (looked at \(searched.joined(separator: ", "))). \(FluidSynth.installHint)"
        case .fluidSynthFailed(let status, let output):
            return "fluidsynth exited with status \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        case .tooLong(let seconds, let limit):
            return String(format: "the piece lasts %.1f minutes, more than the %.0f minutes a render writes "
                          + "(--max-minutes, up to %d; docs/limits.md)", seconds / 60, limit / 60, RenderError.maximumMinutes)
        }
    }

    /// The most minutes `--max-minutes` allows: a 16-bit mono WAV at 44.1 kHz stays far below
    /// the format's 4 GiB, and the signal's float buffer below 2 GB.
    public static let maximumMinutes = 180
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
    public static func locate(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> FluidSynth {
        let fileManager = FileManager.default
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        guard let program = path.split(separator: ":").map({ URL(fileURLWithPath: String($0)).appendingPathComponent("fluidsynth") })
            .first(where: { fileManager.isExecutableFile(atPath: $0.path) }) else {
            throw RenderError.fluidSynthNotFound
        }
        let candidates = (environment["CADENZA_SOUNDFONT"].map { [$0] } ?? []) + soundFontCandidates
        guard let font = candidates.first(where: { fileManager.isReadableFile(atPath: $0) }) else {
            throw RenderError.soundFontNotFound(searched: candidates)
        }
        return FluidSynth(executable: program, soundFont: URL(fileURLWithPath: font))
    }

    /// Renders the MIDI file at `midi` to a 16-bit WAV file at `wav`.
    /// `gain` is FluidSynth's master gain (its default 0.2 is quiet for a solo piano; 0.6
    /// leaves headroom for dense chords).
    /// FluidSynth writes its own file: it goes to the hidden temporary name and is renamed into
    /// place only when FluidSynth succeeded, so `wav` is complete or untouched.
    public func render(midi: URL, to wav: URL, sampleRate: Int = 44_100, gain: Double = 0.6) throws {
        let temporary = AtomicFile.temporaryURL(for: wav)
        defer { try? FileManager.default.removeItem(at: temporary) }
        // -n no MIDI input driver, -i no shell, -q quiet, -F fast-render to a file.
        let arguments = ["-n", "-i", "-q", "-g", String(gain), "-r", String(sampleRate),
                         "-O", "s16", "-T", "wav", "-F", temporary.path, soundFont.path, midi.path]
        let outcome: Subprocess.Outcome
        do { outcome = try Subprocess.run(executable.path, arguments) } catch {
            throw RenderError.fluidSynthFailed(status: -1, output: "\(error)")
        }
        let size = (try? FileManager.default.attributesOfItem(atPath: temporary.path)[.size] as? Int) ?? 0
        guard outcome.status == 0, size > 44 else {
            throw RenderError.fluidSynthFailed(status: outcome.status,
                                               output: outcome.outputText + String(decoding: outcome.errors, as: UTF8.self))
        }
        try Interruption.whileWriting {
            guard rename(temporary.path, wav.path) == 0 else {
                throw FileError.cannotWrite(path: wav.path, reason: String(cString: strerror(errno)))
            }
        }
    }
}
