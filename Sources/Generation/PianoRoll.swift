import MIDI
import Plot

/// Draws a MIDI file as a piano roll: time across (in musical time, so bars are evenly spaced),
/// pitch up, one rectangle per note shaded by velocity (pale = soft, full colour = loud),
/// coloured by track, with bar lines from the time-signature map, a labelled pitch axis, bar
/// numbers along the bottom and the sustain pedal drawn as a strip under the notes.
public struct PianoRoll: Sendable {
    /// Width of the whole picture, in pixels.
    public var width: Int
    /// Title printed above the roll (the file name, typically).
    public var title: String
    /// The number printed under the first bar: 1 for a whole piece, N for a passage cut from bar
    /// N, so that its bars read as they do in the whole.
    public var firstBarNumber: Int

    /// The widths a picture may have, in pixels. The canvas is held in memory, 3 bytes a pixel,
    /// so the top of the range bounds that memory; a piece of any length is squeezed into the
    /// width asked for.
    public static let widthRange = 300...20_000

    /// Creates a piano-roll renderer; `width` is brought into `widthRange`, `firstBarNumber` is
    /// at least 1.
    public init(width: Int = 1600, title: String = "", firstBarNumber: Int = 1) {
        self.width = min(max(Self.widthRange.lowerBound, width), Self.widthRange.upperBound)
        self.title = title
        self.firstBarNumber = max(1, firstBarNumber)
    }

    private static let noteNames = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]

    /// `seconds` as m:ss, rounded to the nearest second (6.875 s is 0:07).
    public static func clock(_ seconds: Double) -> String {
        let whole = Int(max(0, seconds).rounded())
        let rest = whole % 60
        return "\(whole / 60):" + (rest < 10 ? "0\(rest)" : "\(rest)")
    }

    /// Scientific pitch name of a MIDI key (60 is C4).
    public static func pitchName(_ pitch: Int) -> String {
        noteNames[((pitch % 12) + 12) % 12] + String(pitch / 12 - 1)
    }

    /// The picture of `file`.
    public func render(_ file: MIDIFile) -> Canvas {
        // Colours go to the tracks that have notes, in order, so a one-part file after an
        // empty tempo track still gets the first colour.
        let playing = file.tracks.enumerated().filter { !$0.element.notes.isEmpty }
        let notes = playing.enumerated().flatMap { rank, entry in entry.element.notes.map { (track: rank, note: $0) } }
        let lastNoteEnd = notes.map { $0.note.end }.max() ?? 0
        let grid = BarGrid(file: file, endTick: max(lastNoteEnd - 1, 0))
        let endTick = max(1, grid.endTick)

        // Pitch range: whole octaves from C to B around the notes, at least two octaves.
        var low = (notes.map { $0.note.pitch }.min() ?? 60) / 12 * 12
        var high = (notes.map { $0.note.pitch }.max() ?? 71) / 12 * 12 + 11
        if high - low < 23 { low = max(0, low - 12); high = min(127, max(high, low + 23)) }
        let keys = high - low + 1
        let rowHeight = max(3, min(10, 560 / keys))

        let scale = 2
        let left = 56, right = 16, top = 44
        let pedalHeight = 10, axisHeight = 34
        let rollW = width - left - right, rollH = keys * rowHeight
        let hasPedal = file.tracks.contains { $0.controlChanges.contains { $0.controller == 64 } }
        let height = top + rollH + (hasPedal ? pedalHeight + 4 : 0) + axisHeight
        var canvas = Canvas(width: width, height: height)

        func x(_ tick: Int) -> Int { left + Int((Double(tick) / Double(endTick) * Double(rollW)).rounded()) }
        func y(_ pitch: Int) -> Int { top + (high - pitch) * rowHeight }

        // Keyboard background: black-key rows slightly grey, a line under every C.
        for pitch in low...high {
            let isBlack = [1, 3, 6, 8, 10].contains(pitch % 12)
            canvas.fillRect(
                x: left, y: y(pitch), width: rollW, height: rowHeight,
                color: isBlack ? Color(238, 238, 242) : .white)
            if pitch % 12 == 0 {
                canvas.fillRect(
                    x: left, y: y(pitch) + rowHeight - 1, width: rollW, height: 1, color: Color(200, 200, 210))
                let name = Self.pitchName(pitch)
                canvas.drawText(
                    name, x: left - 6 - Canvas.textWidth(name, scale: scale),
                    y: y(pitch) + rowHeight - Canvas.textHeight(scale: scale), color: .darkGray, scale: scale)
            }
        }

        // Beat lines when there is room for them, bar lines when they are not crowded, bar
        // numbers spaced so that they never overlap.
        let marks = Self.barMarks(
            grid, rollWidth: rollW, labelWidth: Self.labelWidth(barCount: firstBarNumber - 1 + grid.barCount),
            firstBarNumber: firstBarNumber)
        for beat in marks.beatLines {
            canvas.fillRect(x: left + beat, y: top, width: 1, height: rollH, color: Color(214, 214, 222))
        }
        for bar in marks.barLines {
            canvas.fillRect(x: left + bar, y: top, width: 1, height: rollH, color: Color(170, 170, 185))
        }
        for label in marks.labels {
            canvas.drawText(
                String(label.bar), x: left + label.x + 1, y: height - axisHeight + 4, color: .darkGray, scale: scale)
        }

        // The frame first: a note at the very start keeps its onset edge over it.
        canvas.strokeRect(x: left, y: top, width: rollW + 1, height: rollH, color: .darkGray)
        // Notes: soft ones pale, loud ones in full colour; a darker onset edge separates
        // repeated notes of one pitch.
        for (track, note) in notes where note.pitch >= low && note.pitch <= high {
            let base = Color.palette[track % Color.palette.count]
            let loudness = Double(min(max(note.velocity, 1), 127)) / 127
            let fill = base.mixed(with: .white, amount: 0.8 * (1 - loudness))
            let x0 = x(note.start), x1 = max(x(note.end), x0 + 2)
            canvas.fillRect(x: x0, y: y(note.pitch), width: x1 - x0, height: max(1, rowHeight - 1), color: fill)
            canvas.fillRect(
                x: x0, y: y(note.pitch), width: 1, height: max(1, rowHeight - 1),
                color: base.mixed(with: .black, amount: 0.35))
        }

        // Sustain pedal (CC 64 >= 64) as dark spans in a strip under the roll.
        if hasPedal {
            let stripY = top + rollH + 4
            canvas.fillRect(x: left, y: stripY, width: rollW, height: pedalHeight, color: Color(245, 245, 245))
            for span in SustainPedal.downSpans(in: file, until: endTick) {
                canvas.fillRect(
                    x: x(span.lowerBound), y: stripY, width: max(1, x(span.upperBound) - x(span.lowerBound)),
                    height: pedalHeight, color: Color(120, 120, 140))
            }
            canvas.drawText("ped", x: left - 6 - Canvas.textWidth("ped"), y: stripY + 1, color: .darkGray)
        }

        // Title line: name, bars, notes, length: to the end of the file (as `inspect` gives it;
        // for a passage, its last bar's end), rounded to the second.
        var heading = title.isEmpty ? "" : title + "   "
        heading +=
            "\(grid.barCount) bar\(grid.barCount == 1 ? "" : "s"), \(notes.count) note\(notes.count == 1 ? "" : "s"), "
            + Self.clock(file.tempoMap.seconds(atTick: max(lastNoteEnd, file.endTick)))
        canvas.drawText(heading, x: left, y: 12, color: .black, scale: scale)
        // Track legend, right-aligned on the title line, when there is more than one track with notes.
        if playing.count > 1 {
            var lx = width - right
            for (rank, entry) in playing.enumerated().reversed() {
                let label = entry.element.name ?? "track \(entry.offset + 1)"
                lx -= Canvas.textWidth(label, scale: scale) + 22
                canvas.fillRect(x: lx, y: 14, width: 12, height: 12, color: Color.palette[rank % Color.palette.count])
                canvas.drawText(label, x: lx + 16, y: 12, color: .darkGray, scale: scale)
            }
        }
        canvas.drawText(
            "bar", x: left - 6 - Canvas.textWidth("bar", scale: scale), y: height - axisHeight + 4,
            color: .darkGray, scale: scale)
        return canvas
    }
}

extension PianoRoll {
    /// Where the grid's lines and bar numbers go along the roll, in pixels from its left edge.
    public struct BarMarks: Equatable, Sendable {
        /// One bar number and where its text starts.
        public struct Label: Equatable, Sendable {
            /// The bar's number, counting from `firstBarNumber`.
            public var bar: Int
            /// Pixels from the roll's left edge.
            public var x: Int
        }
        /// Bar lines, left to right.
        public var barLines: [Int] = []
        /// Beat lines inside bars, left to right.
        public var beatLines: [Int] = []
        /// Bar numbers, left to right.
        public var labels: [Label] = []
    }

    /// Bar lines closer than this many pixels would blur into a grey band, so they are drawn
    /// only where a bar number goes.
    static let minimumBarLineGap = 3.0
    /// Beat lines are drawn when beats are at least this many pixels apart.
    static let minimumBeatLineGap = 6.0
    /// Empty pixels between one bar number and the next.
    static let labelGap = 8

    /// Width in pixels of the widest bar number of a piece of `barCount` bars, at least that of
    /// a four-digit one so that short pieces keep a calm spacing.
    static func labelWidth(barCount: Int) -> Int {
        Canvas.textWidth(String(max(1_000, barCount)), scale: 2)
    }

    /// The marks for `grid` across a roll `rollWidth` pixels wide, with bar numbers
    /// `labelWidth` pixels wide, the grid's first bar numbered `firstBarNumber`.
    ///
    /// The first bar and every Nth bar are numbered (1, N, 2N, ..., or F, then the multiples of
    /// N after F for a passage from bar F), N the first of 1, 2, 5, 10, 20, 50, ... that leaves
    /// room for the numbers at the piece's average bar width; a number that would touch the one
    /// before (bar N after bar 1, bars of unequal lengths) is left out. The
    /// work and the number of marks depend on the width, not on the piece's length: runs of
    /// bars too narrow for their lines are skipped whole.
    public static func barMarks(
        _ grid: BarGrid, rollWidth: Int, labelWidth: Int, firstBarNumber: Int = 1
    ) -> BarMarks {
        var marks = BarMarks()
        let endTick = Double(max(1, grid.endTick))
        let pixelsPerTick = Double(rollWidth) / endTick
        // The same rounding as the notes' edges in `render`, so that lines and notes agree.
        func x(_ tick: Int) -> Int { Int((Double(tick) / endTick * Double(rollWidth)).rounded()) }
        let spacing = labelWidth + labelGap
        let averageBar = Double(rollWidth) / Double(max(1, grid.barCount))
        let every = niceStride(atLeast: Double(spacing) / averageBar)
        var numbered: [Int] = []
        for run in grid.runs {
            let barPixels = Double(run.bar.length) * pixelsPerTick
            if barPixels >= minimumBarLineGap {
                for index in run.firstIndex..<(run.firstIndex + run.count) {
                    marks.barLines.append(x(run.start(ofBar: index)))
                }
            }
            if Double(run.bar.beatLength) * pixelsPerTick >= minimumBeatLineGap {
                for index in run.firstIndex..<(run.firstIndex + run.count) {
                    let start = run.start(ofBar: index)
                    for beat in 1..<max(1, run.bar.beats) where beat * run.bar.beatLength < run.bar.length {
                        marks.beatLines.append(x(start + beat * run.bar.beatLength))
                    }
                }
            }
            // `number` is the bar's printed number; the grid counts bars from 0.
            func label(_ number: Int) {
                let position = x(run.start(ofBar: number - firstBarNumber))
                if marks.labels.last.map({ position - $0.x >= spacing }) ?? true {
                    marks.labels.append(BarMarks.Label(bar: number, x: position))
                    if barPixels < minimumBarLineGap { numbered.append(position) }
                }
            }
            let first = firstBarNumber + run.firstIndex, last = first + run.count - 1
            if run.firstIndex == 0 && first % every != 0 { label(first) }
            // The run's first multiple of `every`, then every `every`th.
            var number = (first + every - 1) / every * every
            while number <= last {
                label(number)
                number += every
            }
        }
        // A numbered bar always has its line, even among bars too narrow for theirs.
        marks.barLines = Array(Set(marks.barLines + numbered)).sorted()
        return marks
    }

    /// The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `least`.
    static func niceStride(atLeast least: Double) -> Int {
        var decade = 1
        while decade <= Int.max / 10 {
            for step in [1, 2, 5] where Double(step * decade) >= least { return step * decade }
            decade *= 10
        }
        return decade
    }
}

/// The sustain pedal (controller 64; a value of 64 or more means down, as the MIDI 1.0
/// specification's on/off switch convention says). A pedal acts on its MIDI channel, whatever
/// track carries it, as it would on a synthesizer playing the file.
enum SustainPedal {
    /// The tick ranges over which the pedal is down: on `channel` only, or merged over all
    /// channels when `channel` is nil. A pedal still down at the end stays down until `endTick`.
    static func downSpans(in file: MIDIFile, channel: Int? = nil, until endTick: Int) -> [Range<Int>] {
        let changes = file.tracks.flatMap { $0.controlChanges }
            .filter { $0.controller == 64 && (channel == nil || $0.channel == channel) }
        var spans: [Range<Int>] = []
        for (_, ofChannel) in Dictionary(grouping: changes, by: \.channel) {
            var downSince: Int?
            // Stable sort: changes at one tick keep file order, so the last one wins.
            for change in ofChannel.enumerated().sorted(by: {
                ($0.element.tick, $0.offset) < ($1.element.tick, $1.offset)
            }).map(\.element) {
                if change.value >= 64, downSince == nil { downSince = change.tick }
                if change.value < 64, let since = downSince {
                    if change.tick > since { spans.append(since..<change.tick) }
                    downSince = nil
                }
            }
            if let since = downSince, endTick > since { spans.append(since..<endTick) }
        }
        return spans.sorted { $0.lowerBound < $1.lowerBound }
    }
}
