import Testing
@testable import Plot

/// Published check values: CRC-32 of "123456789" is 0xCBF43926 (the catalogue check value of
/// CRC-32/ISO-HDLC); Adler-32 of "Wikipedia" is 0x11E60398 (the worked example on Wikipedia's
/// Adler-32 page).
@Test func checksumsMatchPublishedCheckValues() {
    #expect(Checksum.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(Checksum.adler32(Array("Wikipedia".utf8)) == 0x11E6_0398)
    #expect(Checksum.adler32([]) == 1)
    // Checksumming in two pieces gives the same CRC as in one.
    let bytes = Array("IHDR and some data".utf8)
    #expect(Checksum.crc32(bytes[4...], continuing: Checksum.crc32(bytes[..<4])) == Checksum.crc32(bytes))
}

/// Inputs that exercise every path: empty, short, long runs, rows that repeat, noise, and data
/// longer than one stored block (65,535 bytes).
private func samples() -> [[UInt8]] {
    var noise: [UInt8] = []
    var x: UInt32 = 12345
    for _ in 0..<70_000 { x = x &* 1_103_515_245 &+ 12345; noise.append(UInt8(x >> 24)) }
    var rows: [UInt8] = []
    for r in 0..<200 { for c in 0..<300 { rows.append(UInt8((c / 7 + r / 50) % 256)) } }
    return [[], [42], Array("abcabcabcabcabcX".utf8), [UInt8](repeating: 7, count: 100_000), rows, noise]
}

@Test(arguments: [Deflate.Method.stored, .fixedHuffman])
func deflateRoundTripsThroughAnIndependentInflater(method: Deflate.Method) throws {
    for data in samples() {
        var inflater = Inflater(Deflate.compress(data, method: method))
        #expect(try inflater.inflate() == data)
    }
}

@Test func fixedHuffmanCompressesFlatImagesHard() {
    let flat = [UInt8](repeating: 255, count: 1_000_000)
    let compressed = Deflate.compress(flat, method: .fixedHuffman)
    // Each 258-byte match costs 8 + 0 + 5 + 0 bits (length code 285, distance code 0):
    // 1e6 / 258 * 13 bits is about 6.3 KB.
    #expect(compressed.count < 8_000)
}

@Test func zlibStreamHasValidHeaderAndTrailer() {
    let data = Array("hello hello hello".utf8)
    let z = Deflate.zlib(data)
    #expect((Int(z[0]) * 256 + Int(z[1])) % 31 == 0)
    #expect(z[0] & 0x0F == 8)  // CM = deflate
    let adler = Checksum.adler32(data)
    #expect(
        Array(z.suffix(4)) == [
            UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF),
        ])
}

/// Splits a PNG into (type, data) chunks, checking each CRC on the way.
private func chunks(of png: [UInt8]) throws -> [(String, [UInt8])] {
    var result: [(String, [UInt8])] = []
    var i = 8
    func be32(_ at: Int) -> Int {
        Int(png[at]) << 24 | Int(png[at + 1]) << 16 | Int(png[at + 2]) << 8 | Int(png[at + 3])
    }
    while i < png.count {
        let length = be32(i)
        let type = String(decoding: png[(i + 4)..<(i + 8)], as: UTF8.self)
        let data = Array(png[(i + 8)..<(i + 8 + length)])
        let crc = UInt32(be32(i + 8 + length))
        #expect(crc == Checksum.crc32(png[(i + 4)..<(i + 8 + length)]), "CRC of \(type)")
        result.append((type, data))
        i += 12 + length
    }
    return result
}

@Test func pngDecodesBackToTheCanvasPixels() throws {
    var canvas = Canvas(width: 37, height: 23, background: Color(10, 20, 30))
    canvas.fillRect(x: 5, y: 3, width: 10, height: 8, color: .palette[1])
    canvas.drawLine(from: (0, 22), to: (36, 0), color: .black)
    canvas.drawText("C4", x: 20, y: 12, color: .white)
    for method in [Deflate.Method.stored, .fixedHuffman] {
        let png = PNG.encode(canvas, method: method)
        #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let parts = try chunks(of: png)
        #expect(parts.map(\.0) == ["IHDR", "IDAT", "IEND"])
        #expect(parts[0].1 == [0, 0, 0, 37, 0, 0, 0, 23, 8, 2, 0, 0, 0])
        let z = parts[1].1
        var inflater = Inflater(Array(z[2..<(z.count - 4)]))
        let raw = try inflater.inflate()
        #expect(raw.count == 23 * (37 * 3 + 1))
        var pixels: [UInt8] = []
        for row in 0..<23 {
            #expect(raw[row * (37 * 3 + 1)] == 0)  // filter type None
            pixels += raw[(row * (37 * 3 + 1) + 1)..<((row + 1) * (37 * 3 + 1))]
        }
        #expect(pixels == canvas.pixels)
    }
}
