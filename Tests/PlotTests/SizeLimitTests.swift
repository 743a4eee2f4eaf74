import Testing
@testable import Plot

@Test func aLineChartAskedForAHugeCanvasGetsTheLargestAllowed() {
    // plot-loss refuses such sizes; a caller of the library that does not check gets a picture
    // at the limits instead of a multi-gigabyte canvas.
    let chart = LineChart(
        title: "loss", xLabel: "step", yLabel: "nll",
        series: [.init(name: "train", x: [0, 1, 2], y: [3, 2, 1.5])])
    #expect(chart.render(width: 2_000_000, height: 300).width == LineChart.widthRange.upperBound)
    #expect(chart.render(width: 400, height: 1_000_000).height == LineChart.heightRange.upperBound)
    #expect(chart.render(width: 400, height: 300).width == 400)
    // The largest picture stays under 300 MB of pixels.
    #expect(LineChart.widthRange.upperBound * LineChart.heightRange.upperBound * 3 <= 300_000_000)
}
