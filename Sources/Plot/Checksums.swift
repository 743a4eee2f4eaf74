/// The two checksums a PNG file needs: CRC-32 over each chunk (ISO 3309 / ITU-T V.42, the
/// reflected polynomial 0xEDB88320, as PNG spec section 5.5 specifies) and Adler-32 over the
/// uncompressed zlib payload (RFC 1950 section 9).
public enum Checksum {
    /// The 256-entry table of the byte-at-a-time CRC-32 algorithm.
    private static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// CRC-32 of `bytes`, continuing from `crc` (pass the previous result to checksum data in
    /// pieces; start from 0).
    public static func crc32<C: Collection>(_ bytes: C, continuing crc: UInt32 = 0) -> UInt32
    where C.Element == UInt8 {
        var c = ~crc
        for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }

    /// Adler-32 of `bytes` (RFC 1950): two sums modulo 65521, the largest prime below 2^16.
    public static func adler32(_ bytes: [UInt8]) -> UInt32 {
        let modulus: UInt32 = 65_521
        var a: UInt32 = 1, b: UInt32 = 0
        // 5552 bytes is the longest run whose sums cannot overflow 32 bits before reducing.
        var index = 0
        while index < bytes.count {
            let end = min(index + 5552, bytes.count)
            for i in index..<end { a &+= UInt32(bytes[i]); b &+= a }
            a %= modulus; b %= modulus
            index = end
        }
        return (b << 16) | a
    }
}
