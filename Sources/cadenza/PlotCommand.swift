import ArgumentParser
import Foundation
import Generation
import MIDI
import Plot

/// `cadenza plot FILE.mid --out FILE.png`: a piano-roll picture of a MIDI file.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plot",
        abstract: "Draw a MIDI file as a piano roll (PNG): time across, pitch up, velocity as shade, bar lines.")

    @Argument(help: "The MIDI file to draw.")
    var input: String

    @Option(name: .shortAndLong, help: "Where to write the PNG (default: the input name with .png).")
    var out: String?

    @Option(help: "Width of the picture in pixels (300 or more).")
    var width: Int = 1600

    func validate() throws {
        guard width >= 300 else { throw ValidationError("--width must be at least 300 pixels, got \(width)") }
    }

    func run() throws {
        let inputURL = URL(fileURLWithPath: input)
        let file = try MIDIFile(contentsOf: inputURL)
        let outURL = URL(fileURLWithPath: out ?? inputURL.deletingPathExtension().path + ".png")
        let canvas = PianoRoll(width: width, title: inputURL.lastPathComponent).render(file)
        try PNG.write(canvas, to: outURL)
        print("wrote \(outURL.path) (\(canvas.width) x \(canvas.height) pixels)")
    }
}
