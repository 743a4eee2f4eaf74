import Foundation
import Testing
@testable import Tensor

/// F16 storage: the narrowing rounds to nearest even, and a file written as F16 reads back
/// within half precision.
@Test func narrowingToHalfMatchesKnownBitPatterns() {
    // Values and their IEEE 754 binary16 patterns, worked out by hand.
    let cases: [(Float, UInt16)] = [
        (0, 0x0000), (-0.0, 0x8000), (1, 0x3C00), (-2, 0xC000), (0.5, 0x3800), (65504, 0x7BFF),
        (65520, 0x7C00),  // halfway to the next binade rounds to infinity
        (1 + 1.0 / 2048, 0x3C00),  // exactly halfway between 1 and 1 + 2^-10: to even
        (1 + 3.0 / 2048, 0x3C02),  // halfway between 0x3C01 and 0x3C02: to even
        (Float(sign: .plus, exponent: -24, significand: 1), 0x0001),  // smallest subnormal
        (Float(sign: .plus, exponent: -14, significand: 1), 0x0400),  // smallest normal
        (.infinity, 0x7C00), (1e-9, 0x0000),
    ]
    for (value, bits) in cases {
        #expect(SafetensorsFile.narrowHalf(value) == bits, "\(value)")
    }
    #expect(SafetensorsFile.widenHalf(SafetensorsFile.narrowHalf(.nan)).isNaN)
}

@Test func halfFileReadsBackWithinHalfPrecision() throws {
    var generator = SeededGenerator(seed: 3)
    let values = (0..<257).map { _ in Float.random(in: -4...4, using: &generator) }
    let file = SafetensorsFile(tensors: ["w": Tensor(shape: [257], values: values)], metadata: ["k": "v"])
    let bytes = file.encoded(as: .f16)
    #expect(bytes.count < file.encoded().count / 2 + 200)
    let back = try SafetensorsFile(bytes: bytes)
    #expect(back.metadata == ["k": "v"])
    let read = try back.tensor("w", shape: [257]).values
    for (a, b) in zip(values, read) {
        #expect(abs(a - b) <= abs(a) / 2048 + 1e-7, "\(a) read back as \(b)")
        #expect(SafetensorsFile.narrowHalf(b) == SafetensorsFile.narrowHalf(a))
    }
}
