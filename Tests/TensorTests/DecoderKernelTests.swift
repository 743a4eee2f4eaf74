import Testing
@testable import Tensor

/// Values in [-1, 1) from `seed`.
private func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var g = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Float.random(in: -1..<1, using: &g) }
}

private func expectNear(_ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    #expect(a.count == b.count && worst <= tolerance, "\(what): worst difference \(worst)", sourceLocation: sourceLocation)
}

@Suite struct DecoderMatrixTests {
    /// Sizes that do not divide the 4-row blocks or the 16-wide vectors, and ones that do.
    static let shapes = [(1, 3), (5, 16), (37, 50), (64, 256), (300, 33)]

    @Test(arguments: [DecoderMatrix.Precision.float32, .float16], [false, true])
    func productEqualsTheNaiveOneOnOddShapes(precision: DecoderMatrix.Precision, transposed: Bool) {
        for (index, (outputs, inputs)) in Self.shapes.enumerated() {
            let w = randomValues(outputs * inputs, seed: UInt64(index)), x = randomValues(inputs, seed: 50 + UInt64(index))
            let bias = randomValues(outputs, seed: 90 + UInt64(index))
            let matrix = w.withUnsafeBufferPointer {
                DecoderMatrix($0.baseAddress!, outputs: outputs, inputs: inputs, transposed: transposed, precision: precision)
            }
            // The reference rounds the weights as the matrix stores them, sums in Double.
            func weight(_ j: Int, _ p: Int) -> Double {
                let value = transposed ? w[p * outputs + j] : w[j * inputs + p]
                return Double(precision == .float16 ? Float(Float16(value)) : value)
            }
            let expected = (0..<outputs).map { j in
                Float((0..<inputs).reduce(Double(bias[j])) { $0 + weight(j, $1) * Double(x[$1]) })
            }
            let start = randomValues(outputs, seed: 7)
            for threads in [1, 2] {
                var y = Array(repeating: Float.nan, count: outputs)
                matrix.multiply(x, bias: bias, into: &y, threads: threads)
                expectNear(y, expected, 1e-5 * Float(inputs), "\(outputs)x\(inputs) \(precision) threads \(threads)")
                var accumulated = start
                matrix.multiply(x, bias: bias, into: &accumulated, epilogue: .accumulate, threads: threads)
                expectNear(accumulated, zip(start, expected).map { $0 + $1 }, 1e-5 * Float(inputs), "accumulate")
                var activated = Array(repeating: Float.nan, count: outputs)
                matrix.multiply(x, bias: bias, into: &activated, epilogue: .gelu, threads: threads)
                var gelu = expected
                GELU.forward(out: &gelu, input: expected, count: outputs)
                expectNear(activated, gelu, 1e-5 * Float(inputs), "gelu")
            }
        }
    }

    @Test func theThreadCountDoesNotChangeABit() {
        let (outputs, inputs) = (300, 256)
        let w = randomValues(outputs * inputs, seed: 1), x = randomValues(inputs, seed: 2)
        let matrix = DecoderMatrix(w, outputs: outputs, inputs: inputs, transposed: false, precision: .float16)
        var one = Array(repeating: Float(0), count: outputs), two = one
        matrix.multiply(x, bias: nil, into: &one, threads: 1)
        matrix.multiply(x, bias: nil, into: &two, threads: 2)
        #expect(one == two)
        #expect(matrix.byteCount == outputs * inputs * 2)
    }
}

@Suite struct DecoderCacheTests {
    /// One query over `count` cached positions against `Attention.forward` on the same rows.
    @Test(arguments: [DecoderMatrix.Precision.float32, .float16], [1, 17, 64, 100])
    func attentionEqualsTheGeneralKernel(precision: DecoderMatrix.Precision, count: Int) {
        let (H, d, capacity) = (4, 32, 100)
        let keys = randomValues(count * H * d, seed: 3), values = randomValues(count * H * d, seed: 4)
        let query = randomValues(H * d, seed: 5).map { $0 * 3 }  // sharp enough that scores matter
        let cache = DecoderCache(layers: 2, heads: H, headSize: d, capacity: capacity, precision: precision)
        var scores = Array(repeating: Float(0), count: cache.scoreScratchCount)
        var out = Array(repeating: Float.nan, count: H * d)
        for position in 0..<count - 1 {
            cache.store(layer: 1, position: position, key: Array(keys[(position * H * d)...]),
                        value: Array(values[(position * H * d)...]))
        }
        let last = (count - 1) * H * d
        cache.append(layer: 1, key: Array(keys[last...]), value: Array(values[last...]), thenAttend: query,
                     slots: 0..<count, out: &out, scores: &scores)

        // Reference: the training kernel on the same values, rounded as the cache stores them.
        func stored(_ v: [Float]) -> [Float] { precision == .float16 ? v.map { Float(Float16($0)) } : v }
        var (k, v, q) = (stored(keys), stored(values), query)
        var expected = Array(repeating: Float(0), count: H * d)
        var probabilities = Array(repeating: Float(0), count: H * count)
        k.withUnsafeMutableBufferPointer { k in v.withUnsafeMutableBufferPointer { v in q.withUnsafeMutableBufferPointer { q in
            Attention.forward(out: &expected, probabilities: &probabilities,
                              q: HeadRows(base: q.baseAddress!, rowStride: H * d, batchStride: H * d),
                              k: HeadRows(base: k.baseAddress!, rowStride: H * d, batchStride: count * H * d),
                              v: HeadRows(base: v.baseAddress!, rowStride: H * d, batchStride: count * H * d),
                              relative: nil, dropMask: nil,
                              shape: AttentionShape(batch: 1, queries: 1, memory: count - 1, heads: H, headSize: d))
        } } }
        expectNear(out, expected, 1e-5, "\(precision), \(count) positions")
    }
}
