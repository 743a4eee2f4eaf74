import Testing
@testable import Plot

@Test func fillRectClipsAtTheEdges() {
    var c = Canvas(width: 4, height: 3)
    c.fillRect(x: -2, y: 1, width: 4, height: 10, color: .black)
    #expect(c.pixel(x: 0, y: 0) == .white)
    #expect(c.pixel(x: 0, y: 1) == .black)
    #expect(c.pixel(x: 1, y: 2) == .black)
    #expect(c.pixel(x: 2, y: 1) == .white)
    #expect(c.pixel(x: 4, y: 0) == nil)
}

@Test func lineTouchesBothEndsAndTheDiagonal() {
    var c = Canvas(width: 10, height: 10)
    c.drawLine(from: (1, 1), to: (8, 8), color: .black)
    for k in 1...8 { #expect(c.pixel(x: k, y: k) == .black) }
    #expect(c.pixel(x: 0, y: 0) == .white)
    #expect(c.pixel(x: 9, y: 9) == .white)
    #expect(c.pixel(x: 2, y: 1) == .white)
}

@Test func textDrawsTheGlyphBitsAtScale() {
    var c = Canvas(width: 20, height: 20)
    let width = c.drawText("1", x: 0, y: 0, color: .black, scale: 2)
    #expect(width == 12)
    // "1" is 0x04 on its first row: only the middle column, two pixels wide at scale 2.
    #expect(c.pixel(x: 4, y: 0) == .black && c.pixel(x: 5, y: 1) == .black)
    #expect(c.pixel(x: 3, y: 0) == .white && c.pixel(x: 6, y: 0) == .white)
    // Its last row 0x0E: columns 1...3.
    #expect(c.pixel(x: 2, y: 12) == .black && c.pixel(x: 7, y: 13) == .black && c.pixel(x: 8, y: 12) == .white)
}

@Test func everyLabelCharacterHasAGlyph() {
    let missing = BitmapFont.glyph(for: "\u{1}")
    for ch in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz .,:;-+/()[]%=_#'*<>!?|" {
        #expect(ch == " " || BitmapFont.glyph(for: ch) != missing, "glyph for \(ch)")
        #expect(BitmapFont.glyph(for: ch).allSatisfy { $0 < 32 }, "glyph for \(ch) fits 5 columns")
        // Seven rows, plus two below the line for the letters with descenders.
        #expect(BitmapFont.glyph(for: ch).count == ("gjpqy".contains(ch) ? 9 : 7), "rows of \(ch)")
    }
}

@Test func niceTicksAreRoundAndCoverTheRange() {
    let t = AxisTicks.nice(lower: 0.13, upper: 0.97, count: 5)
    #expect(t.step == 0.2)
    #expect(t.values.count == 4)
    #expect(abs(t.values[0] - 0.2) < 1e-12 && abs(t.values[3] - 0.8) < 1e-12)
    #expect(AxisTicks.label(0.4, step: 0.2) == "0.4")
    #expect(AxisTicks.label(1500, step: 500) == "1500")
}

@Test func lineChartDrawsEachSeriesInItsColour() {
    let chart = LineChart(
        title: "loss", xLabel: "step", yLabel: "nll",
        series: [
            .init(name: "train", x: [0, 1, 2], y: [3, 2, 1.5]),
            .init(name: "valid", x: [0, 1, 2], y: [3.2, 2.4, .nan]),
        ])
    let c = chart.render(width: 400, height: 300)
    var counts = [0, 0]
    for y in 0..<c.height {
        for x in 0..<c.width {
            if c.pixel(x: x, y: y) == Color.palette[0] { counts[0] += 1 }
            if c.pixel(x: x, y: y) == Color.palette[1] { counts[1] += 1 }
        }
    }
    // Both lines are drawn (the NaN only cuts the second short), the first is longer.
    #expect(counts[0] > 300 && counts[1] > 100 && counts[0] > counts[1])
}

@Test func yLabelsOfANarrowRangeStayInsideTheImage() {
    // A loss over a range of 0.0002 needs labels like "12.00015", wider than the default
    // 80-pixel margin: the margin grows so that every label starts inside the image.
    let ticks = AxisTicks.nice(lower: 12.0001, upper: 12.0003)
    let widths = ticks.values.map { Canvas.textWidth(AxisTicks.label($0, step: ticks.step), scale: 2) }
    #expect(widths.max()! > 80 - 6)
    let left = LineChart.leftMargin(for: ticks, scale: 2)
    // Each label ends 6 pixels from the axis and starts clear of the upright axis title.
    for width in widths { #expect(left - 6 - width >= 8 + Canvas.textHeight(scale: 2)) }
    #expect(LineChart.leftMargin(for: AxisTicks.nice(lower: 0, upper: 5), scale: 2) == 80)
    // And the chart renders with it.
    let chart = LineChart(
        title: "validation", xLabel: "step", yLabel: "nll",
        series: [.init(name: "valid", x: [0, 1, 2, 3], y: [12.0001, 12.00018, 12.00025, 12.0003])])
    #expect(chart.render(width: 400, height: 300).width == 400)
}

@Test func namedXTicksReplaceTheRoundNumbersAndLeaveHalfAClassEitherSide() {
    let ticks = [
        LineChart.Tick(value: 1, label: "0-511"), .init(value: 2, label: "512+"), .init(value: 3, label: "8k+"),
    ]
    let series = [LineChart.Series(name: "", x: [1, 2, 3], y: [0, 0, 10])]
    let named = LineChart(title: "t", xLabel: "x", yLabel: "y", series: series, xTicks: ticks)
    let round = LineChart(title: "t", xLabel: "x", yLabel: "y", series: series)
    // Vertical grid lines: columns that are light grey in every row of the plot's middle band
    // (a horizontal grid line fills a whole row, so one row alone could count every column).
    func gridColumns(_ chart: LineChart) -> [Int] {
        let c = chart.render(width: 400, height: 300)
        return (0..<c.width).filter { x in (120..<160).allSatisfy { c.pixel(x: x, y: $0) == .lightGray } }
    }
    // Three lines, evenly spaced, none on the frame (the classes sit half a class inside it).
    let columns = gridColumns(named)
    #expect(columns.count == 3)
    if columns.count == 3 { #expect(abs((columns[1] - columns[0]) - (columns[2] - columns[1])) <= 1) }
    // Round numbers over 1...3 put the first and last ticks on the frame instead.
    #expect(gridColumns(round) != columns)
}
