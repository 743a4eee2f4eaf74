import Foundation
import MIDI
import Testing
@testable import Generation

@Test func aLongSpanPlotKeepsItsWidthAndAFewBarNumbers() throws {
    let file = try longSpanFile()
    let grid = BarGrid(file: file, endTick: 0x0FFF_FFFF + 479)
    // 139,811 bars of 4/4 in one run, without a list of them.
    #expect(grid.runs.count == 1 && grid.barCount == (0x0FFF_FFFF + 479) / 1_920 + 1)
    for width in [PianoRoll.widthRange.lowerBound, 1_600, PianoRoll.widthRange.upperBound] {
        let canvas = PianoRoll(width: width).render(file)
        #expect(canvas.width == width && canvas.height < 700)
        let rollWidth = width - 72
        let labelWidth = PianoRoll.labelWidth(barCount: grid.barCount)
        let marks = PianoRoll.barMarks(grid, rollWidth: rollWidth, labelWidth: labelWidth)
        // Never overlapping, so never more than fit side by side.
        #expect(marks.labels.count >= 2 && marks.labels.count <= rollWidth / labelWidth + 1)
        for (a, b) in zip(marks.labels, marks.labels.dropFirst()) {
            #expect(b.x - a.x >= labelWidth + PianoRoll.labelGap)
        }
        #expect(marks.labels.first?.bar == 1)
        // Bar 1, then multiples of one round number.
        let step = marks.labels[1].bar
        #expect([1, 2, 5].contains(step / Int(pow(10, floor(log10(Double(step)))))))
        #expect(marks.labels.dropFirst().allSatisfy { $0.bar % step == 0 })
        // Bars far narrower than a pixel get a line only where they are numbered.
        #expect(marks.barLines == marks.labels.map(\.x))
        #expect(marks.beatLines.isEmpty)
    }
    #expect(PianoRoll(width: 2_000_000).width == PianoRoll.widthRange.upperBound)
}

@Test func barNumbersOfUnequalBarsNeverOverlap() {
    // Ten bars of 255/1 (1,020 ticks at one tick a beat) fill the first half of the roll, then
    // 10,200 one-tick bars of 1/64 the second: the stride that suits the average bar puts
    // numbers 1000 and 2000 of the narrow bars 49 pixels apart, and the second is left out.
    let f = MIDIFile(
        division: .ticksPerBeat(1), tracks: [Track(notes: [Note(start: 0, end: 20_400, pitch: 60, velocity: 80)])],
        timeSignatures: [
            TimeSignature(tick: 0, numerator: 255, denominator: 1),
            TimeSignature(tick: 10_200, numerator: 1, denominator: 64),
        ])
    let grid = BarGrid(file: f, endTick: 20_399)
    #expect(grid.runs.count == 2 && grid.barCount == 10 + 10_200)
    let marks = PianoRoll.barMarks(grid, rollWidth: 1_000, labelWidth: 48)
    #expect(marks.labels.map(\.bar) == [1, 1_000, 3_000, 5_000, 7_000, 9_000])
    for (a, b) in zip(marks.labels, marks.labels.dropFirst()) { #expect(b.x - a.x >= 48 + PianoRoll.labelGap) }
    // The wide bars have their lines; of the narrow ones only the numbered.
    #expect(marks.barLines.count == 10 + 5)
    // A short piece keeps every bar line and beat line, and numbers every bar that has room.
    let short = MIDIFile(tracks: [Track(notes: [Note(start: 0, end: 4 * 1_920, pitch: 60, velocity: 80)])])
    let few = PianoRoll.barMarks(BarGrid(file: short, endTick: 4 * 1_920 - 1), rollWidth: 1_000, labelWidth: 48)
    #expect(few.barLines == [0, 250, 500, 750] && few.beatLines.count == 12 && few.labels.map(\.bar) == [1, 2, 3, 4])
    // A passage cut from bar 90 numbers its bars as the whole piece does: 90 first, then the
    // multiples of the stride.
    let passage = MIDIFile(tracks: [Track(notes: [Note(start: 0, end: 57 * 1_920, pitch: 60, velocity: 80)])])
    let passageGrid = BarGrid(file: passage, endTick: 57 * 1_920 - 1)
    let fromBar90 = PianoRoll.barMarks(passageGrid, rollWidth: 500, labelWidth: 48, firstBarNumber: 90)
    #expect(fromBar90.labels.map(\.bar) == [90, 100, 110, 120, 130, 140])
    #expect(fromBar90.labels.first?.x == 0 && fromBar90.labels[1].x == Int((10.0 / 57 * 500).rounded()))
    let fromBar1 = PianoRoll.barMarks(passageGrid, rollWidth: 500, labelWidth: 48)
    #expect(fromBar1.labels.map(\.bar) == [1, 10, 20, 30, 40, 50])
}

/// The title's length is rounded, not cut (6.875 s read 0:06).
@Test func theTitlesLengthIsRoundedToTheSecond() {
    #expect(PianoRoll.clock(6.875) == "0:07" && PianoRoll.clock(10.4) == "0:10" && PianoRoll.clock(59.6) == "1:00")
    #expect(PianoRoll.clock(3_725) == "62:05" && PianoRoll.clock(-1) == "0:00")
}
