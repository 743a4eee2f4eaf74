import Foundation

/// 64-bit FNV-1a: a fast, portable, stable hash for cache keys and split assignment (not
/// for security).
public enum FNV1a {
    /// The hash of `bytes`, continuing from `seed` (the standard offset basis by default).
    public static func hash<C: Collection>(_ bytes: C, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64
    where C.Element == UInt8 {
        var h = seed
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return h
    }

    /// The hash of `data`'s bytes.
    public static func hash(_ data: Data, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 {
        data.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// The hash as 16 hex digits.
    public static func hex(_ value: UInt64) -> String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
