import ArgumentParser
import Basics
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

    @Option(
        parsing: .unconditional,
        help:
            .init(
                "Width of the picture in pixels, \(PianoRoll.widthRange.lowerBound) to "
                    + "\(PianoRoll.widthRange.upperBound); "
                    + "a piece of any length fits in it.")
    )
    var width: Int = 1600

    func validate() throws {
        guard PianoRoll.widthRange.contains(width) else {
            throw ValidationError(
                "--width must be between \(PianoRoll.widthRange.lowerBound) and "
                    + "\(PianoRoll.widthRange.upperBound) pixels, got \(width)")
        }
    }

    func run() throws {
        let inputURL = URL(fileURLWithPath: input)
        let file = try MIDIFile(contentsOf: inputURL)
        let outURL = URL(fileURLWithPath: out ?? inputURL.deletingPathExtension().path + ".png")
        try OutputPath.checkFile(outURL)
        let canvas = PianoRoll(width: width, title: inputURL.lastPathComponent).render(file)
        try PNG.write(canvas, to: outURL)
        print("wrote \(outURL.path) (\(canvas.width) x \(canvas.height) pixels)")
    }
}
