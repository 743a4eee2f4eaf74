/// A test-only DEFLATE decoder for the two block kinds the encoder writes (stored and fixed
/// Huffman), written straight from RFC 1951 so the encoder is checked against the spec, not
/// against itself.
struct Inflater {
    enum Failure: Error { case truncated, badBlockType(Int), badStoredLength, badSymbol(Int), badDistance }

    private let data: [UInt8]
    private var bitPosition = 0

    init(_ data: [UInt8]) { self.data = data }

    private mutating func bit() throws -> Int {
        guard bitPosition / 8 < data.count else { throw Failure.truncated }
        let b = Int(data[bitPosition / 8] >> UInt8(bitPosition % 8)) & 1
        bitPosition += 1
        return b
    }

    private mutating func bits(_ n: Int) throws -> Int {
        var v = 0
        for k in 0..<n { v |= try bit() << k }
        return v
    }

    /// Reads a Huffman code of `n` bits, most significant first.
    private mutating func code(_ n: Int) throws -> Int {
        var v = 0
        for _ in 0..<n { v = (v << 1) | (try bit()) }
        return v
    }

    /// The fixed literal/length code: 7-bit codes 0...23, 8-bit 48...199 and 192...199, 9-bit 400...511.
    private mutating func fixedSymbol() throws -> Int {
        var v = try code(7)
        if v <= 23 { return 256 + v }
        v = (v << 1) | (try bit())
        if v >= 0x30 && v <= 0xBF { return v - 0x30 }
        if v >= 0xC0 && v <= 0xC7 { return 280 + v - 0xC0 }
        v = (v << 1) | (try bit())
        if v >= 0x190 && v <= 0x1FF { return 144 + v - 0x190 }
        throw Failure.badSymbol(v)
    }

    static let lengthBase = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
        115, 131, 163, 195, 227, 258,
    ]
    static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    static let distBase = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
        1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
    ]
    static let distExtra = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]

    mutating func inflate() throws -> [UInt8] {
        var out: [UInt8] = []
        var final = 0
        repeat {
            final = try bits(1)
            let type = try bits(2)
            switch type {
            case 0:
                bitPosition = (bitPosition + 7) / 8 * 8
                let len = try bits(16), nlen = try bits(16)
                guard len == (~nlen & 0xFFFF) else { throw Failure.badStoredLength }
                for _ in 0..<len { out.append(UInt8(try bits(8))) }
            case 1:
                while true {
                    let symbol = try fixedSymbol()
                    if symbol < 256 { out.append(UInt8(symbol)); continue }
                    if symbol == 256 { break }
                    let li = symbol - 257
                    guard li < 29 else { throw Failure.badSymbol(symbol) }
                    let length = Self.lengthBase[li] + (try bits(Self.lengthExtra[li]))
                    let di = try code(5)
                    guard di < 30 else { throw Failure.badSymbol(di) }
                    let distance = Self.distBase[di] + (try bits(Self.distExtra[di]))
                    guard distance <= out.count else { throw Failure.badDistance }
                    for _ in 0..<length { out.append(out[out.count - distance]) }
                }
            default: throw Failure.badBlockType(type)
            }
        } while final == 0
        return out
    }
}
