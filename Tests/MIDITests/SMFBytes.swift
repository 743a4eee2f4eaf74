/// Hand-built Standard MIDI File bytes for tests: each rule is shown on a file small enough to
/// read in the test itself.
enum SMF {
    /// An MThd chunk. `division` is the raw 16-bit word (PPQ, or SMPTE with the top bit set).
    static func header(format: Int, tracks: Int, division: Int) -> [UInt8] {
        Array("MThd".utf8) + [0, 0, 0, 6] + u16(format) + u16(tracks) + u16(division)
    }

    /// A chunk with any four-letter id around `body`, its length filled in.
    static func chunk(_ id: String, _ body: [UInt8]) -> [UInt8] {
        Array(id.utf8) + u32(body.count) + body
    }

    /// An MTrk chunk around `body` (the events, End-of-Track included or not, as given).
    static func track(_ body: [UInt8]) -> [UInt8] { chunk("MTrk", body) }

    /// A whole file: header plus one MTrk per body.
    static func file(format: Int = 1, division: Int = 96, _ bodies: [UInt8]...) -> [UInt8] {
        header(format: format, tracks: bodies.count, division: division)
            + bodies.flatMap { track($0) }
    }

    /// Delta 0, End-of-Track.
    static let endOfTrack: [UInt8] = [0x00, 0xFF, 0x2F, 0x00]

    static func u16(_ v: Int) -> [UInt8] { [UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
    static func u32(_ v: Int) -> [UInt8] {
        [UInt8((v >> 24) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
    }
}

/// A small seeded generator (SplitMix64) for the tests of this target: the MIDI layer does not
/// depend on Tensor, whose `SeededGenerator` is the product's random source.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
