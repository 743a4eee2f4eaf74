import Basics
import Foundation

/// Writes 8-bit RGB PNG files (PNG specification, 2nd edition, W3C/ISO 15948): signature,
/// IHDR, one IDAT holding the zlib stream of the filtered scanlines, IEND.
public enum PNG {
    /// The PNG bytes of `canvas`.
    public static func encode(_ canvas: Canvas, method: Deflate.Method = .fixedHuffman) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header += bigEndian(UInt32(canvas.width))
        header += bigEndian(UInt32(canvas.height))
        // Bit depth 8, colour type 2 (truecolour RGB), deflate, adaptive filtering, no interlace.
        header += [8, 2, 0, 0, 0]
        appendChunk("IHDR", header, to: &out)
        // Each scanline starts with its filter type; 0 (None) lets LZ77 find the repeats
        // across rows (distance = one row) and along flat runs (distance = one pixel).
        let rowBytes = canvas.width * 3
        var raw = [UInt8](repeating: 0, count: (rowBytes + 1) * canvas.height)
        for y in 0..<canvas.height {
            let src = y * rowBytes
            let dst = y * (rowBytes + 1) + 1
            for k in 0..<rowBytes { raw[dst + k] = canvas.pixels[src + k] }
        }
        appendChunk("IDAT", Deflate.zlib(raw, method: method), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    /// Writes `canvas` as a PNG file at `url`.
    public static func write(_ canvas: Canvas, to url: URL) throws {
        try AtomicFile.write(encode(canvas), to: url)
    }

    private static func bigEndian(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }

    /// Length, type, data, CRC-32 of type and data (PNG spec section 5.3).
    private static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        out += bigEndian(UInt32(data.count))
        out += typeBytes
        out += data
        out += bigEndian(Checksum.crc32(data, continuing: Checksum.crc32(typeBytes)))
    }
}
