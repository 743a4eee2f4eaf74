/// A small DEFLATE compressor (RFC 1951) and its zlib wrapper (RFC 1950), enough for PNG.
///
/// Two block kinds are written: stored blocks (no compression, trivially correct) and blocks
/// with the fixed Huffman code of RFC 1951 section 3.2.6 fed by a greedy LZ77 matcher with hash
/// chains. Plots are mostly flat colour, so long back-references do nearly all the work and a
/// dynamic Huffman code would buy little.
public enum Deflate {
    /// How to compress.
    public enum Method: Sendable {
        /// Stored blocks of up to 65,535 bytes each: no compression.
        case stored
        /// One block with the fixed Huffman code and LZ77 back-references (window 32 KiB).
        case fixedHuffman
    }

    /// The raw DEFLATE stream of `data`.
    public static func compress(_ data: [UInt8], method: Method = .fixedHuffman) -> [UInt8] {
        switch method {
        case .stored: return stored(data)
        case .fixedHuffman: return fixedHuffman(data)
        }
    }

    /// A zlib stream (RFC 1950): header, DEFLATE data, Adler-32 of `data` (big-endian).
    public static func zlib(_ data: [UInt8], method: Method = .fixedHuffman) -> [UInt8] {
        // CMF 0x78: deflate with a 32 KiB window. FLG 0x01 makes (CMF*256 + FLG) % 31 == 0,
        // with the "fastest" level hint and no preset dictionary.
        var out: [UInt8] = [0x78, 0x01]
        out += compress(data, method: method)
        let adler = Checksum.adler32(data)
        out += [UInt8(adler >> 24), UInt8((adler >> 16) & 0xFF), UInt8((adler >> 8) & 0xFF), UInt8(adler & 0xFF)]
        return out
    }

    // MARK: Stored blocks

    private static func stored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.count + data.count / 65_535 * 5 + 5)
        var start = 0
        repeat {
            let length = min(65_535, data.count - start)
            let isLast = start + length == data.count
            // Header bits BFINAL, BTYPE=00, then padding to the byte boundary: one whole byte.
            out.append(isLast ? 1 : 0)
            out += [
                UInt8(length & 0xFF), UInt8(length >> 8),
                UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF),
            ]
            out += data[start..<(start + length)]
            start += length
        } while start < data.count
        return out
    }

    // MARK: Fixed Huffman blocks

    /// Length codes 257...285: base match length and extra bits (RFC 1951 section 3.2.5).
    private static let lengthBase: [Int] = [
        3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
        35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
    ]
    private static let lengthExtra: [Int] = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
        3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ]
    /// Distance codes 0...29: base distance and extra bits.
    private static let distanceBase: [Int] = [
        1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
        257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
        8193, 12289, 16385, 24577,
    ]
    private static let distanceExtra: [Int] = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
        7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]

    /// Index of the largest table entry <= value (the tables are sorted).
    private static func code(for value: Int, in bases: [Int]) -> Int {
        var lo = 0, hi = bases.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if bases[mid] <= value { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    private static func writeLiteralOrLength(_ symbol: Int, to bits: inout BitWriter) {
        // The fixed literal/length code (RFC 1951 section 3.2.6).
        switch symbol {
        case 0...143: bits.writeHuffman(0x30 + symbol, length: 8)
        case 144...255: bits.writeHuffman(0x190 + symbol - 144, length: 9)
        case 256...279: bits.writeHuffman(symbol - 256, length: 7)
        default: bits.writeHuffman(0xC0 + symbol - 280, length: 8)
        }
    }

    private static let windowSize = 32_768
    private static let minMatch = 3
    private static let maxMatch = 258
    /// How many earlier positions with the same hash are tried; more finds longer matches
    /// but costs time.
    private static let maxChain = 24

    private static func fixedHuffman(_ data: [UInt8]) -> [UInt8] {
        var bits = BitWriter(capacity: data.count / 4 + 16)
        bits.write(1, count: 1)  // BFINAL: this is the only block
        bits.write(1, count: 2)  // BTYPE = 01, fixed Huffman codes
        let hashBits = 15
        var head = [Int32](repeating: -1, count: 1 << hashBits)
        var previous = [Int32](repeating: -1, count: windowSize)
        let n = data.count
        data.withUnsafeBufferPointer { d in
            func hash(_ i: Int) -> Int {
                let v = (UInt32(d[i]) << 16) | (UInt32(d[i + 1]) << 8) | UInt32(d[i + 2])
                return Int((v &* 2_654_435_761) >> UInt32(32 - hashBits))
            }
            func insert(_ i: Int) {
                guard i + minMatch <= n else { return }
                let h = hash(i)
                previous[i & (windowSize - 1)] = head[h]
                head[h] = Int32(i)
            }
            var i = 0
            while i < n {
                var bestLength = 0, bestDistance = 0
                if i + minMatch <= n {
                    var candidate = Int(head[hash(i)])
                    var chain = maxChain
                    let limit = min(maxMatch, n - i)
                    while candidate >= 0, i - candidate <= windowSize, chain > 0 {
                        var length = 0
                        while length < limit, d[candidate + length] == d[i + length] { length += 1 }
                        if length > bestLength {
                            bestLength = length; bestDistance = i - candidate
                            if length == limit { break }
                        }
                        let next = Int(previous[candidate & (windowSize - 1)])
                        if next >= candidate { break }  // slot reused by a newer position
                        candidate = next
                        chain -= 1
                    }
                }
                if bestLength >= minMatch {
                    let lc = code(for: bestLength, in: lengthBase)
                    writeLiteralOrLength(257 + lc, to: &bits)
                    bits.write(bestLength - lengthBase[lc], count: lengthExtra[lc])
                    let dc = code(for: bestDistance, in: distanceBase)
                    bits.writeHuffman(dc, length: 5)
                    bits.write(bestDistance - distanceBase[dc], count: distanceExtra[dc])
                    for k in i..<(i + bestLength) { insert(k) }
                    i += bestLength
                } else {
                    writeLiteralOrLength(Int(d[i]), to: &bits)
                    insert(i)
                    i += 1
                }
            }
        }
        writeLiteralOrLength(256, to: &bits)  // end of block
        return bits.finish()
    }
}

/// Packs bits least-significant first, as DEFLATE stores everything but Huffman codes.
struct BitWriter {
    private(set) var bytes: [UInt8] = []
    private var buffer: UInt64 = 0
    private var count = 0

    init(capacity: Int) { bytes.reserveCapacity(capacity) }

    /// Appends the low `count` bits of `value`, least significant first.
    mutating func write(_ value: Int, count n: Int) {
        guard n > 0 else { return }
        buffer |= UInt64(value & ((1 << n) - 1)) << UInt64(count)
        count += n
        while count >= 8 {
            bytes.append(UInt8(buffer & 0xFF))
            buffer >>= 8
            count -= 8
        }
    }

    /// Appends a Huffman code, which DEFLATE stores most significant bit first.
    mutating func writeHuffman(_ code: Int, length: Int) {
        var reversed = 0
        for k in 0..<length where code & (1 << k) != 0 { reversed |= 1 << (length - 1 - k) }
        write(reversed, count: length)
    }

    /// Flushes the last partial byte (zero-padded) and returns the stream.
    mutating func finish() -> [UInt8] {
        if count > 0 { bytes.append(UInt8(buffer & 0xFF)); buffer = 0; count = 0 }
        return bytes
    }
}
