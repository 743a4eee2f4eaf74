import Testing
import TensorKernels

@testable import Tensor

/// Dropout masks drawn eight streams at a time (`cadenza_dropout_masks`): the plain loop against
/// the documented rule written here with `SeededGenerator` (exactly), the vector path against the
/// plain loop (exactly, generator states included), `makeMasks` against `makeMask` stream by
/// stream, and the dispatch.
@Suite struct DropoutMaskTests {
    /// The rule as `Dropout.makeMask` documents it: one 64-bit draw per two elements, each 24-bit
    /// half as a uniform in [0, 1), dropped below `probability`.
    static func documented(count: Int, probability: Float, seed: UInt64) -> (mask: [Float], state: SeededGenerator) {
        var generator = SeededGenerator(seed: seed)
        var mask = [Float](repeating: -1, count: count)
        let keep = 1 / (1 - probability)
        var i = 0
        while i < count {
            let bits = generator.next()
            mask[i] = Float(bits >> 40) * (1.0 / 16_777_216.0) < probability ? 0 : keep
            if i + 1 < count {
                mask[i + 1] = Float((bits >> 8) & 0xFF_FFFF) * (1.0 / 16_777_216.0) < probability ? 0 : keep
            }
            i += 2
        }
        return (mask, generator)
    }

    static func states(_ streams: Int, seed: UInt64) -> [UInt64] {
        (0..<streams).flatMap { s -> [UInt64] in
            let g = SeededGenerator(seed: seed &+ UInt64(s)).state
            return [g.0, g.1, g.2, g.3]
        }
    }

    static func threshold(_ p: Float) -> UInt32 { UInt32((Double(p) * 16_777_216).rounded(.up)) }

    @Test(arguments: [Float(0), 0.1, 0.25, 0.5, 0.999_9])
    func thePlainLoopIsTheDocumentedRule(probability: Float) {
        let count = 1_001
        for s in 0..<3 {
            var state = Self.states(1, seed: 40 + UInt64(s))
            var mask = [Float](repeating: -1, count: count)
            cadenza_dropout_masks_portable(
                &state, 1, count, Self.threshold(probability), 1 / (1 - probability), &mask, nil)
            let expected = Self.documented(count: count, probability: probability, seed: 40 + UInt64(s))
            #expect(mask == expected.mask)
            let g = expected.state.state
            #expect(state == [g.0, g.1, g.2, g.3], "the generator does not end where the stream does")
        }
    }

    @Test func theVectorPathEqualsThePlainLoop() {
        for streams in [1, 3, 8, 9, 16, 17] {
            for count in [0, 1, 2, 15, 16, 17, 33, 130] {
                for p in [Float(0.1), 0.5] {
                    let keep = 1 / (1 - p), t = Self.threshold(p)
                    var plainStates = Self.states(streams, seed: 7), vectorStates = plainStates
                    let x = (0..<(streams * count)).map { Float($0 % 13) - 6.5 }
                    var plainMask = [Float](repeating: -1, count: streams * count), vectorMask = plainMask
                    var plainX = x, vectorX = x
                    cadenza_dropout_masks_portable(&plainStates, streams, count, t, keep, &plainMask, &plainX)
                    cadenza_dropout_masks(&vectorStates, streams, count, t, keep, &vectorMask, &vectorX)
                    #expect(vectorMask == plainMask, "streams \(streams) count \(count) p \(p)")
                    #expect(vectorX == plainX, "streams \(streams) count \(count) p \(p)")
                    #expect(vectorStates == plainStates, "streams \(streams) count \(count) p \(p)")
                    #expect(plainX == zip(x, plainMask).map { $0 * $1 })
                }
            }
        }
    }

    @Test func makeMasksEqualsMakeMaskStreamByStream() {
        let streams = 11, count = 4_099, p: Float = 0.1
        var generators = (0..<streams).map { SeededGenerator(seed: 100 + UInt64($0)) }
        var alone = generators
        let together = Tensor(uninitialized: [streams * count])
        let x = Tensor(shape: [streams * count], values: (0..<(streams * count)).map { Float($0 % 7) - 3 })
        let original = x.values
        Dropout.makeMasks(
            together.pointer, streams: streams, count: count, probability: p, generators: &generators,
            applyingTo: x.pointer)
        for s in 0..<streams {
            let mask = Tensor(uninitialized: [count])
            Dropout.makeMask(mask.pointer, count: count, probability: p, generator: &alone[s])
            #expect(Array(together.values[(s * count)..<((s + 1) * count)]) == mask.values, "stream \(s)")
            #expect(alone[s] == generators[s], "stream \(s) ends elsewhere")
        }
        #expect(x.values == zip(original, together.values).map { $0 * $1 })
        let dropped = together.values.filter { $0 == 0 }.count
        #expect(abs(Double(dropped) / Double(streams * count) - 0.1) < 0.01, "dropped \(dropped)")
    }

    @Test func theDispatchPicksAPathTheCPUHas() {
        let flags = CPUInfo.read().flags
        #expect(
            (cadenza_dropout_masks_use_avx512() == 1) == (flags.contains("avx512f") && flags.contains("avx512dq")),
            "the CPU and /proc/cpuinfo disagree")
    }
}
