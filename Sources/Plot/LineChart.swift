import Foundation

/// Tick positions for an axis: "nice" round numbers (1, 2 or 5 times a power of ten).
public enum AxisTicks {
    /// About `count` round values covering [lower, upper], and the step between them.
    public static func nice(lower: Double, upper: Double, count: Int = 6) -> (values: [Double], step: Double) {
        guard lower.isFinite, upper.isFinite, upper > lower, count > 0 else { return ([lower], 1) }
        let rough = (upper - lower) / Double(count)
        let magnitude = pow(10, floor(log10(rough)))
        let step = [1.0, 2.0, 5.0, 10.0].map { $0 * magnitude }.first { $0 >= rough } ?? 10 * magnitude
        var values: [Double] = []
        var v = (lower / step).rounded(.up) * step
        while v <= upper + step * 1e-9 {
            values.append(abs(v) < step * 1e-9 ? 0 : v)
            v += step
        }
        return (values, step)
    }

    /// `value` written with as many decimals as `step` needs (so 0.25-steps show 2 decimals).
    public static func label(_ value: Double, step: Double) -> String {
        let decimals = step >= 1 ? 0 : min(6, Int((-log10(step)).rounded(.up)))
        return String(format: "%.\(decimals)f", value)
    }
}

/// A line chart of one or more series (loss curves, evaluation sweeps), drawn on a `Canvas`.
///
/// The axes fit the data with a small margin; non-finite points are skipped and break the line.
public struct LineChart: Sendable {
    /// One named line.
    public struct Series: Sendable {
        /// Legend text.
        public var name: String
        /// Points in data units, drawn in the given order.
        public var points: [Point]
        /// Creates a series.
        public init(name: String, points: [Point]) { self.name = name; self.points = points }
        /// Creates a series from parallel x and y arrays (extra entries of the longer are ignored).
        public init(name: String, x: [Double], y: [Double]) {
            self.init(name: name, points: zip(x, y).map { Point(x: $0, y: $1) })
        }
    }

    /// A point in data units.
    public struct Point: Sendable, Equatable {
        public var x: Double, y: Double
        /// Creates a point.
        public init(x: Double, y: Double) { self.x = x; self.y = y }
    }

    /// Title drawn above the plot.
    public var title: String
    /// Horizontal axis title (with its unit).
    public var xLabel: String
    /// Vertical axis title (with its unit).
    public var yLabel: String
    /// The lines, coloured from `Color.palette` in order.
    public var series: [Series]
    /// Draw a dot at every point (useful for sweeps with few points).
    public var showsMarkers: Bool
    /// Labelled marks on the horizontal axis in place of round numbers, for an axis of classes
    /// (position buckets drawn at 1, 2, 3 named "0-511", "512-2047", ...); nil for round numbers.
    public var xTicks: [Tick]?

    /// A labelled mark on an axis.
    public struct Tick: Sendable, Equatable {
        public var value: Double, label: String
        /// Creates a tick at `value` (data units) reading `label`.
        public init(value: Double, label: String) { self.value = value; self.label = label }
    }

    /// Creates a chart.
    public init(
        title: String, xLabel: String, yLabel: String, series: [Series], showsMarkers: Bool = false,
        xTicks: [Tick]? = nil
    ) {
        self.title = title
        self.xLabel = xLabel
        self.yLabel = yLabel
        self.series = series
        self.showsMarkers = showsMarkers
        self.xTicks = xTicks
    }

    /// The data range over all finite points, widened where it is empty.
    private func bounds() -> (x: ClosedRange<Double>, y: ClosedRange<Double>) {
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        guard let first = finite.first else { return (0...1, 0...1) }
        var x0 = first.x, x1 = first.x, y0 = first.y, y1 = first.y
        for p in finite { x0 = min(x0, p.x); x1 = max(x1, p.x); y0 = min(y0, p.y); y1 = max(y1, p.y) }
        if let xTicks, !xTicks.isEmpty {
            // Half a class of room either side, so the first and last labels fit.
            let values = xTicks.map(\.value).filter(\.isFinite)
            let step = values.count > 1 ? ((values.max() ?? 0) - (values.min() ?? 0)) / Double(values.count - 1) : 1
            x0 = min(x0, (values.min() ?? x0) - step / 2)
            x1 = max(x1, (values.max() ?? x1) + step / 2)
        }
        if x1 == x0 { x0 -= 1; x1 += 1 }
        if y1 == y0 { y0 -= abs(y0) * 0.1 + 1; y1 += abs(y1) * 0.1 + 1 }
        let pad = (y1 - y0) * 0.05
        return (x0...x1, (y0 - pad)...(y1 + pad))
    }

    /// Pixels left of the plot: room for the axis title (drawn upright from 8 pixels in), a gap,
    /// and the widest y label (drawn 6 pixels from the axis), at least 80. On a narrow range (a
    /// loss from 12.0001 to 12.0003) labels need more decimals and ran off the image's left edge
    /// at a fixed 80; labels of five characters ran into the axis title.
    static func leftMargin(for ticks: (values: [Double], step: Double), scale: Int) -> Int {
        let widest =
            ticks.values.map { Canvas.textWidth(AxisTicks.label($0, step: ticks.step), scale: scale) }.max() ?? 0
        return max(80, 8 + Canvas.textHeight(scale: scale) + 6 + widest + 6)
    }

    /// The widths `cadenza plot-loss` accepts, in pixels. With `heightRange` it bounds the
    /// canvas, held in memory at 3 bytes a pixel.
    public static let widthRange = 300...20_000
    /// The heights `cadenza plot-loss` accepts, in pixels.
    public static let heightRange = 200...5_000

    /// Draws the chart on a new canvas of the given size in pixels; a size over the top of
    /// `widthRange` or `heightRange` is brought down to it.
    public func render(width: Int = 800, height: Int = 500) -> Canvas {
        let width = min(width, Self.widthRange.upperBound), height = min(height, Self.heightRange.upperBound)
        var canvas = Canvas(width: width, height: height)
        let scale = 2
        let (xr, yr) = bounds()
        let yt = AxisTicks.nice(lower: yr.lowerBound, upper: yr.upperBound, count: 6)
        let left = Self.leftMargin(for: yt, scale: scale), right = 20, top = 40, bottom = 60
        let plotW = max(10, width - left - right), plotH = max(10, height - top - bottom)
        func px(_ x: Double) -> Int {
            left + Int(((x - xr.lowerBound) / (xr.upperBound - xr.lowerBound) * Double(plotW - 1)).rounded())
        }
        func py(_ y: Double) -> Int {
            top + plotH - 1 - Int(((y - yr.lowerBound) / (yr.upperBound - yr.lowerBound) * Double(plotH - 1)).rounded())
        }

        // Grid and tick labels.
        let xt = AxisTicks.nice(lower: xr.lowerBound, upper: xr.upperBound, count: 6)
        let xMarks = xTicks ?? xt.values.map { Tick(value: $0, label: AxisTicks.label($0, step: xt.step)) }
        for mark in xMarks where mark.value.isFinite && xr.contains(mark.value) {
            let x = px(mark.value)
            canvas.fillRect(x: x, y: top, width: 1, height: plotH, color: .lightGray)
            let text = mark.label
            canvas.drawText(
                text, x: x - Canvas.textWidth(text, scale: scale) / 2, y: top + plotH + 6,
                color: .darkGray, scale: scale)
        }
        for v in yt.values {
            let y = py(v)
            canvas.fillRect(x: left, y: y, width: plotW, height: 1, color: .lightGray)
            let text = AxisTicks.label(v, step: yt.step)
            canvas.drawText(
                text, x: left - 6 - Canvas.textWidth(text, scale: scale),
                y: y - Canvas.textHeight(scale: scale) / 2, color: .darkGray, scale: scale)
        }
        canvas.strokeRect(x: left, y: top, width: plotW, height: plotH, color: .darkGray)

        // Titles.
        canvas.drawText(
            title, x: left + (plotW - Canvas.textWidth(title, scale: scale)) / 2, y: 12,
            color: .black, scale: scale)
        canvas.drawText(
            xLabel, x: left + (plotW - Canvas.textWidth(xLabel, scale: scale)) / 2,
            y: height - Canvas.textHeight(scale: scale) - 10, color: .black, scale: scale)
        canvas.drawVerticalText(
            yLabel, x: 8, y: top + (plotH + Canvas.textWidth(yLabel, scale: scale)) / 2,
            color: .black, scale: scale)

        // Lines, then the legend on top of them.
        for (index, s) in series.enumerated() {
            let color = Color.palette[index % Color.palette.count]
            var last: (x: Int, y: Int)?
            for p in s.points {
                guard p.x.isFinite, p.y.isFinite else { last = nil; continue }
                let q = (x: px(p.x), y: py(p.y))
                if let l = last { canvas.drawLine(from: l, to: q, color: color, thickness: 2) }
                if showsMarkers { canvas.fillRect(x: q.x - 3, y: q.y - 3, width: 7, height: 7, color: color) }
                last = q
            }
        }
        if series.count > 1 || !(series.first?.name.isEmpty ?? true) {
            let lineH = Canvas.textHeight(scale: scale) + 6
            let legendW = (series.map { Canvas.textWidth($0.name, scale: scale) }.max() ?? 0) + 40
            let lx = left + plotW - legendW - 8, ly = top + 8
            canvas.fillRect(x: lx, y: ly, width: legendW, height: lineH * series.count + 8, color: .white)
            canvas.strokeRect(x: lx, y: ly, width: legendW, height: lineH * series.count + 8, color: .gray)
            for (index, s) in series.enumerated() {
                let y = ly + 6 + index * lineH
                let color = Color.palette[index % Color.palette.count]
                canvas.fillRect(
                    x: lx + 6, y: y + Canvas.textHeight(scale: scale) / 2 - 1, width: 20, height: 3, color: color)
                canvas.drawText(s.name, x: lx + 32, y: y, color: .black, scale: scale)
            }
        }
        return canvas
    }
}
