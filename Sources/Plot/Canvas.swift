/// An sRGB colour, 8 bits per channel.
public struct Color: Equatable, Hashable, Sendable {
    /// Red, green and blue, 0...255.
    public var r: UInt8, g: UInt8, b: UInt8

    /// Creates a colour from its channels.
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }

    /// Creates a colour from 0xRRGGBB.
    public init(hex: UInt32) {
        self.init(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF))
    }

    /// This colour moved toward `other` by `amount` (0 = self, 1 = other), per channel.
    public func mixed(with other: Color, amount: Double) -> Color {
        let t = min(max(amount, 0), 1)
        func mix(_ a: UInt8, _ b: UInt8) -> UInt8 { UInt8((Double(a) * (1 - t) + Double(b) * t).rounded()) }
        return Color(mix(r, other.r), mix(g, other.g), mix(b, other.b))
    }

    public static let white = Color(255, 255, 255)
    public static let black = Color(0, 0, 0)
    public static let lightGray = Color(225, 225, 225)
    public static let gray = Color(150, 150, 150)
    public static let darkGray = Color(70, 70, 70)

    /// Eight distinguishable colours for series and tracks (Tableau 10, first eight).
    public static let palette: [Color] = [
        Color(hex: 0x4E79A7), Color(hex: 0xF28E2B), Color(hex: 0xE15759), Color(hex: 0x76B7B2),
        Color(hex: 0x59A14F), Color(hex: 0xEDC948), Color(hex: 0xB07AA1), Color(hex: 0x9C755F),
    ]
}

/// A raster image in memory: `width` x `height` RGB pixels, row 0 at the top.
///
/// Coordinates are pixels; drawing outside the canvas is clipped, never an error.
public struct Canvas: Sendable {
    /// Size in pixels.
    public let width: Int, height: Int
    /// Row-major RGB bytes, 3 per pixel.
    public private(set) var pixels: [UInt8]

    /// A canvas filled with `background`.
    public init(width: Int, height: Int, background: Color = .white) {
        self.width = max(1, width)
        self.height = max(1, height)
        pixels = [UInt8](repeating: 0, count: self.width * self.height * 3)
        fillRect(x: 0, y: 0, width: self.width, height: self.height, color: background)
    }

    /// The colour at (x, y), or nil outside the canvas.
    public func pixel(x: Int, y: Int) -> Color? {
        guard x >= 0, y >= 0, x < width, y < height else { return nil }
        let i = (y * width + x) * 3
        return Color(pixels[i], pixels[i + 1], pixels[i + 2])
    }

    /// Sets one pixel (ignored outside the canvas).
    public mutating func setPixel(x: Int, y: Int, color: Color) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = color.r; pixels[i + 1] = color.g; pixels[i + 2] = color.b
    }

    /// Fills the rectangle with top-left corner (x, y), clipped to the canvas.
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: Color) {
        let x0 = max(0, x), y0 = max(0, y)
        let x1 = min(width, x + w), y1 = min(height, y + h)
        guard x0 < x1, y0 < y1 else { return }
        for row in y0..<y1 {
            var i = (row * width + x0) * 3
            for _ in x0..<x1 {
                pixels[i] = color.r; pixels[i + 1] = color.g; pixels[i + 2] = color.b
                i += 3
            }
        }
    }

    /// Draws the outline of a rectangle, one pixel wide.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, color: Color) {
        fillRect(x: x, y: y, width: w, height: 1, color: color)
        fillRect(x: x, y: y + h - 1, width: w, height: 1, color: color)
        fillRect(x: x, y: y, width: 1, height: h, color: color)
        fillRect(x: x + w - 1, y: y, width: 1, height: h, color: color)
    }

    /// Draws a straight line between two points (Bresenham), `thickness` pixels wide.
    public mutating func drawLine(
        from p0: (x: Int, y: Int), to p1: (x: Int, y: Int),
        color: Color, thickness: Int = 1
    ) {
        var x = p0.x, y = p0.y
        let dx = abs(p1.x - x), dy = -abs(p1.y - y)
        let sx = x < p1.x ? 1 : -1, sy = y < p1.y ? 1 : -1
        var err = dx + dy
        let offset = (thickness - 1) / 2
        while true {
            fillRect(x: x - offset, y: y - offset, width: thickness, height: thickness, color: color)
            if x == p1.x && y == p1.y { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// Draws `text` in the built-in 5x7 font with its top-left corner at (x, y); each font
    /// pixel becomes a `scale` x `scale` square. Returns the width drawn, in pixels.
    @discardableResult
    public mutating func drawText(_ text: String, x: Int, y: Int, color: Color, scale: Int = 1) -> Int {
        var cursor = x
        for character in text {
            let rows = BitmapFont.glyph(for: character)
            for (r, bits) in rows.enumerated() {
                for c in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - c)) != 0 {
                    fillRect(x: cursor + c * scale, y: y + r * scale, width: scale, height: scale, color: color)
                }
            }
            cursor += BitmapFont.advance * scale
        }
        return cursor - x
    }

    /// Draws `text` turned a quarter turn counter-clockwise (reading bottom to top), with the
    /// bottom-left of its first letter at (x, y). For vertical axis titles.
    public mutating func drawVerticalText(_ text: String, x: Int, y: Int, color: Color, scale: Int = 1) {
        var cursor = y
        for character in text {
            let rows = BitmapFont.glyph(for: character)
            for (r, bits) in rows.enumerated() {
                for c in 0..<BitmapFont.glyphWidth where bits & (1 << (BitmapFont.glyphWidth - 1 - c)) != 0 {
                    fillRect(x: x + r * scale, y: cursor - (c + 1) * scale, width: scale, height: scale, color: color)
                }
            }
            cursor -= BitmapFont.advance * scale
        }
    }

    /// The width in pixels that `drawText` would use.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        text.count * BitmapFont.advance * scale
    }

    /// The height in pixels of one line of text.
    public static func textHeight(scale: Int = 1) -> Int { BitmapFont.glyphHeight * scale }
}
