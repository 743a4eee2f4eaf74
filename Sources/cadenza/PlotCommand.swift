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

    @Option(parsing: .unconditional, help: "Only these bars, as 5-12 (bars count from 1), to see a passage close up.")
    var bars: BarSelection?

    func validate() throws {
        try checkOutputs([("--out", out)], notAnyOf: [("the MIDI file", input)])
        if let bars, !bars.isRange { throw ValidationError("--bars takes a range of bars, as 5-12, got \(bars.last)") }
        guard PianoRoll.widthRange.contains(width) else {
            throw ValidationError(
                "--width must be between \(PianoRoll.widthRange.lowerBound) and "
                    + "\(PianoRoll.widthRange.upperBound) pixels, got \(width)")
        }
    }

    func run() throws {
        let inputURL = URL(fileURLWithPath: input)
        var file = try readMIDI(input)
        var shown = ""
        var firstBarNumber = 1
        if let bars {
            // The bars the piece has, as the roll draws them (up to its last note's end).
            let pieceBars = BarGrid(file: file, endTick: file.tracks.flatMap(\.notes).map(\.end).max() ?? 0).barCount
            guard bars.first <= pieceBars else {
                throw CommandFailure(
                    "--bars \(bars.first)-\(bars.last) starts past the end of \(input), which has "
                        + "\(pieceBars.counted("bar"))")
            }
            let last = min(bars.last, pieceBars)
            file = file.cropped(toBars: (bars.first - 1)..<last)
            shown = ", bars \(bars.first)-\(last)"
            firstBarNumber = bars.first
        }
        let outURL = URL(fileURLWithPath: out ?? inputURL.deletingPathExtension().path + ".png")
        try OutputPath.checkFile(outURL)
        let title = inputURL.lastPathComponent + shown
        let canvas = PianoRoll(width: width, title: title, firstBarNumber: firstBarNumber).render(file)
        try PNG.write(canvas, to: outURL)
        print("wrote \(outURL.path) (\(canvas.width) x \(canvas.height) pixels)")
    }
}
