import Foundation

/// Why audio could not be rendered.
public enum RenderError: Error, Equatable, CustomStringConvertible {
    /// No `fluidsynth` program on the PATH.
    case fluidSynthNotFound
    /// No General MIDI SoundFont in the places searched.
    case soundFontNotFound(searched: [String])
    /// FluidSynth ran but failed or wrote nothing.
    case fluidSynthFailed(status: Int32, output: String)

    public var description: String {
        switch self {
        case .fluidSynthNotFound:
            return "FluidSynth is not installed. \(FluidSynth.installHint)"
        case .soundFontNotFound(let searched):
            return "no General MIDI SoundFont found (looked at \(searched.joined(separator: ", "))). \(FluidSynth.installHint)"
        case .fluidSynthFailed(let status, let output):
            return "fluidsynth exited with status \(status): \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
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
    public func render(midi: URL, to wav: URL, sampleRate: Int = 44_100, gain: Double = 0.6) throws {
        let process = Process()
        process.executableURL = executable
        // -n no MIDI input driver, -i no shell, -q quiet, -F fast-render to a file.
        process.arguments = ["-n", "-i", "-q", "-g", String(gain), "-r", String(sampleRate),
                             "-O", "s16", "-T", "wav", "-F", wav.path, soundFont.path, midi.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw RenderError.fluidSynthFailed(status: -1, output: error.localizedDescription)
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let size = (try? FileManager.default.attributesOfItem(atPath: wav.path)[.size] as? Int) ?? 0
        guard process.terminationStatus == 0, size > 44 else {
            throw RenderError.fluidSynthFailed(status: process.terminationStatus, output: output)
        }
    }
}
