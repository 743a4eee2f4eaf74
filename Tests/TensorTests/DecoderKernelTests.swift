import Testing
import TensorKernels
@testable import Tensor

/// Values in [-1, 1) from `seed`.
private func randomValues(_ count: Int, seed: UInt64) -> [Float] {
    var g = SeededGenerator(seed: seed)
    return (0..<count).map { _ in Float.random(in: -1..<1, using: &g) }
}

private func expectNear(
    _ a: [Float], _ b: [Float], _ tolerance: Float, _ what: String,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
    #expect(
        a.count == b.count && worst <= tolerance, "\(what): worst difference \(worst)", sourceLocation: sourceLocation)
}

@Suite struct DecoderMatrixTests {
    /// Sizes that do not divide the 4-row blocks or the 16-wide vectors, and ones that do.
    static let shapes = [(1, 3), (5, 16), (37, 50), (64, 256), (300, 33)]

    @Test(arguments: [DecoderMatrix.Precision.float32, .float16], [false, true])
    func productEqualsTheNaiveOneOnOddShapes(precision: DecoderMatrix.Precision, transposed: Bool) {
        for (index, (outputs, inputs)) in Self.shapes.enumerated() {
            let w = randomValues(outputs * inputs, seed: UInt64(index)),
                x = randomValues(inputs, seed: 50 + UInt64(index))
            let bias = randomValues(outputs, seed: 90 + UInt64(index))
            let matrix = w.withUnsafeBufferPointer {
                DecoderMatrix(
                    $0.baseAddress!, outputs: outputs, inputs: inputs, transposed: transposed, precision: precision)
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

/// An integer-precision matrix's product equals `expected` (the exact sums of its rounded
/// integers, in Double) up to the final scale-and-add's float rounding, for every shape given in
/// both layouts, storing and accumulating, on one thread and two.
private func expectExactIntegerProducts(
    _ precision: DecoderMatrix.Precision, transposed: Bool, shapes: [(Int, Int)],
    expected: ([Float], [Float], [Float], Int, Int) -> [Float]
) {
    for (index, (outputs, inputs)) in shapes.enumerated() {
        let w = randomValues(outputs * inputs, seed: UInt64(index)),
            x = randomValues(inputs, seed: 50 + UInt64(index))
        let bias = randomValues(outputs, seed: 90 + UInt64(index))
        // The matrix is given in the layout asked for; the reference reads [out, in] rows.
        let given = transposed ? (0..<inputs * outputs).map { w[($0 % outputs) * inputs + $0 / outputs] } : w
        let matrix = DecoderMatrix(
            given, outputs: outputs, inputs: inputs, transposed: transposed, precision: precision)
        let expected = expected(w, x, bias, outputs, inputs)
        // Only float rounding of the final scale-and-add separates the two.
        let tolerance = 1e-6 * Float(inputs) + 1e-6
        for threads in [1, 2] {
            var y = Array(repeating: Float.nan, count: outputs)
            matrix.multiply(x, bias: bias, into: &y, threads: threads)
            expectNear(y, expected, tolerance, "\(outputs)x\(inputs) \(precision) threads \(threads)")
            let start = randomValues(outputs, seed: 7)
            var accumulated = start
            matrix.multiply(x, bias: bias, into: &accumulated, epilogue: .accumulate, threads: threads)
            expectNear(accumulated, zip(start, expected).map { $0 + $1 }, tolerance, "accumulate")
        }
    }
}

/// Against the float32 product an integer precision's error is the rounding's and no more:
/// at most half a step of each weight (`weightHalfStep` of the row's largest magnitude) times
/// |x|, plus half an input step (max |x| / `inputLevels`) times |w|, summed over the row; and
/// the weights really are rounded (a path that fell back to float32 would show no error).
private func expectErrorInsideTheRoundingBound(
    _ precision: DecoderMatrix.Precision, weightHalfStep: (Float) -> Float, inputLevels: Float, byteCount: Int
) {
    let (outputs, inputs) = (64, 256)
    let w = randomValues(outputs * inputs, seed: 11), x = randomValues(inputs, seed: 12)
    let exact = DecoderMatrix(w, outputs: outputs, inputs: inputs, transposed: false, precision: .float32)
    let rounded = DecoderMatrix(w, outputs: outputs, inputs: inputs, transposed: false, precision: precision)
    var a = Array(repeating: Float(0), count: outputs), b = a
    exact.multiply(x, bias: nil, into: &a)
    rounded.multiply(x, bias: nil, into: &b)
    let largestInput = x.map { abs($0) }.max()!
    var worstShare: Float = 0
    for j in 0..<outputs {
        let row = w[(j * inputs)..<((j + 1) * inputs)]
        let bound =
            weightHalfStep(row.map { abs($0) }.max()!) * x.reduce(0) { $0 + abs($1) } + 0.5 * largestInput
            / inputLevels * row.reduce(0) { $0 + abs($1) }
        #expect(abs(a[j] - b[j]) <= bound * 1.001 + 1e-5, "\(precision) row \(j): \(abs(a[j] - b[j])) > \(bound)")
        worstShare = max(worstShare, abs(a[j] - b[j]) / bound)
    }
    #expect(worstShare > 0.01)
    #expect(rounded.byteCount == byteCount)
}

@Suite struct Int8DecoderMatrixTests {
    /// What the int8 product must compute, in Double: each row rounded to integers of its scale
    /// (max |w_j| / 127), the input to integers of its own (max |x| / levels), products summed
    /// exactly, then scaled back and the bias added.
    static func expected(_ w: [Float], _ x: [Float], _ bias: [Float], outputs: Int, inputs: Int, levels: Double)
        -> [Float]
    {
        let largestInput = Double(x.map { abs($0) }.max() ?? 0)
        let inputScale = largestInput / levels
        let roundedX = x.map { largestInput > 0 ? (Double($0) / inputScale).rounded(.toNearestOrEven) : 0 }
        return (0..<outputs).map { j in
            let row = w[(j * inputs)..<((j + 1) * inputs)].map(Double.init)
            let rowScale = (row.map { abs($0) }.max() ?? 0) / 127
            let sum = zip(row, roundedX).reduce(0.0) { $0 + (rowScale > 0 ? ($1.0 / rowScale).rounded() : 0) * $1.1 }
            return Float(sum * rowScale * inputScale + Double(bias[j]))
        }
    }

    @Test(arguments: [false, true])
    func productIsTheExactSumOfTheRoundedIntegers(transposed: Bool) {
        expectExactIntegerProducts(.int8, transposed: transposed, shapes: DecoderMatrixTests.shapes) {
            Self.expected($0, $1, $2, outputs: $3, inputs: $4, levels: 32767)
        }
    }

    /// Against float32: weights to half of max |w| / 127, the input to 32,767 levels.
    @Test func errorAgainstFloat32StaysInsideTheRoundingBound() {
        expectErrorInsideTheRoundingBound(
            .int8, weightHalfStep: { 0.5 * $0 / 127 }, inputLevels: 32767, byteCount: 64 * 256 + 64 * 4)
    }

    /// Rows longer than 8,257 inputs could overflow a 32-bit lane at 32767 input levels; the
    /// input is then rounded to fewer levels, and the product stays right.
    @Test func veryLongRowsDoNotOverflow() {
        let (outputs, inputs) = (4, 20_000)
        let w = Array(repeating: Float(1), count: outputs * inputs), x = Array(repeating: Float(-2), count: inputs)
        let matrix = DecoderMatrix(w, outputs: outputs, inputs: inputs, transposed: false, precision: .int8)
        var y = Array(repeating: Float(0), count: outputs)
        matrix.multiply(x, bias: nil, into: &y)
        expectNear(y, Array(repeating: -40_000, count: outputs), 0.01, "all-ones rows")
    }

    /// Many vectors through rows longer than the byte-split kernel of `cadenza_int8_rows_many`
    /// takes (65,536 inputs, where a lane holding a whole row's total of low bytes could pass
    /// 2^31) are multiplied one at a time instead: the same outputs, right, at the inputs that
    /// would overflow it (low bytes of 255 against weights of 127 in every place).
    @Test func manyVectorsThroughVeryLongRowsEqualOneAtATime() {
        let (outputs, inputs, count) = (4, 70_000, 4)
        let matrix = DecoderMatrix(
            Array(repeating: 1, count: outputs * inputs), outputs: outputs, inputs: inputs, transposed: false,
            precision: .int8)
        // These rows are rounded to 3,864 input levels (32-bit lanes of stride / 16 products); 3,839
        // is 0x0EFF, so every low byte but the first is 255.
        var x = Array(repeating: Float(3839) / 3864, count: count * inputs)
        for i in 0..<count { x[i * inputs] = 1 }
        var one = Array(repeating: Float(0), count: count * outputs), many = one
        x.withUnsafeBufferPointer { xs in
            one.withUnsafeMutableBufferPointer { y in
                for i in 0..<count {
                    matrix.multiply(
                        xs.baseAddress! + i * inputs, bias: nil, into: y.baseAddress! + i * outputs,
                        rowRanges: RowRanges(0..<outputs))
                }
            }
            many.withUnsafeMutableBufferPointer { y in
                matrix.multiply(
                    xs.baseAddress!, vectors: count, inputStride: inputs, bias: nil, into: y.baseAddress!,
                    outputStride: outputs, rowRanges: RowRanges(0..<outputs))
            }
        }
        #expect(many.map(\.bitPattern) == one.map(\.bitPattern))
        let exact = 1 + Float(inputs - 1) * 3839 / 3864
        #expect(one.allSatisfy { abs($0 - exact) < 0.01 * exact }, "\(one.prefix(4)) against \(exact)")
    }

    /// On a CPU with AVX-512 VNNI the int8 kernel must be built with it (the C target's
    /// `-march=native`), or int8 decoding, generation's default, would silently run the plain
    /// loop; on one with AVX2 but not VNNI the AVX2 kernels run; generation defaults to int8 on
    /// both, and to float16 on a CPU with neither.
    @Test func theVNNIKernelIsBuiltWhereTheCPUHasIt() {
        let flags = CPUInfo.read().flags
        guard !flags.isEmpty else { return }  // no /proc/cpuinfo: nothing to compare with
        let hasVNNI = flags.contains("avx512_vnni"), hasAVX2 = flags.contains("avx2")
        #expect(DecoderMatrix.Precision.int8UsesVNNI == hasVNNI)
        #expect(DecoderMatrix.Precision.int8UsesAVX2 == (!hasVNNI && hasAVX2))
        #expect(DecoderMatrix.Precision.fastest == (hasVNNI || hasAVX2 ? .int8 : .float16))
    }

    /// The kernel this CPU runs (VNNI or AVX2), the AVX2 kernel (wherever the CPU has AVX2) and the
    /// plain loop give the same outputs to the bit, at the largest magnitudes the caller allows, for a row range that starts
    /// mid-matrix and does not divide into the kernel's blocks of four, with and without a
    /// bias, storing and accumulating; and the plain loop is the documented formula on exact sums.
    @Test func theVectorKernelEqualsThePlainLoop() {
        let (rows, stride) = (13, 1024)
        var g = SeededGenerator(seed: 9)
        var x = (0..<stride).map { _ in Int16.random(in: -32767...32767, using: &g) }
        x[0] = 32767; x[1] = -32767
        var w = (0..<rows * stride).map { _ in Int8.random(in: -127...127, using: &g) }
        for p in 0..<stride { w[4 * stride + p] = x[p] < 0 ? -127 : 127 }  // row 4: every product at its largest
        let scales = (0..<rows).map { _ in Float.random(in: 1e-4..<1e-2, using: &g) }
        let bias = (0..<rows).map { _ in Float.random(in: -1..<1, using: &g) }
        let start = (0..<rows).map { _ in Float.random(in: -1..<1, using: &g) }
        let inputScale: Float = 3.1e-5
        let sums = (0..<rows).map { j in (0..<stride).reduce(Int64(0)) { $0 + Int64(x[$1]) * Int64(w[j * stride + $1]) }
        }
        #expect(sums[4] == x.reduce(Int64(0)) { $0 + Int64(abs(Int32($1))) * 127 })
        for withBias in [true, false] {
            for accumulate in [false, true] {
                var fast = start, plain = start
                let b: [Float]? = withBias ? bias : nil
                cadenza_int8_rows(x, w, stride, 2, rows, scales, inputScale, b, accumulate ? 1 : 0, &fast)
                cadenza_int8_rows_portable(x, w, stride, 2, rows, scales, inputScale, b, accumulate ? 1 : 0, &plain)
                #expect(fast.map(\.bitPattern) == plain.map(\.bitPattern), "bias \(withBias), accumulate \(accumulate)")
                if cadenza_cpu_has_avx2() != 0 {
                    var avx2 = start
                    cadenza_int8_rows_avx2(x, w, stride, 2, rows, scales, inputScale, b, accumulate ? 1 : 0, &avx2)
                    #expect(avx2.map(\.bitPattern) == plain.map(\.bitPattern), "AVX2, bias \(withBias)")
                }
                let expected = (0..<rows).map { j -> Float in
                    guard j >= 2 else { return start[j] }  // rows before `first` untouched
                    let product = Float(sums[j]) * (scales[j] * inputScale)
                    let value = product + (b?[j] ?? 0)
                    return accumulate ? start[j] + value : value
                }
                #expect(
                    plain.map(\.bitPattern) == expected.map(\.bitPattern), "bias \(withBias), accumulate \(accumulate)")
            }
        }
    }

    /// Many vectors at once give each vector's outputs from `cadenza_int8_rows` to the bit, on the
    /// path this CPU runs, the AVX2 kernel (where the CPU has AVX2) and the plain loop: counts of vectors that do and do not divide
    /// into fours, a row range that starts mid-matrix and crosses the kernel's 32-row tiles with
    /// a remainder (one panel of 16 rows, partly filled), rows short enough for 32-bit totals (up
    /// to 512) and longer, some not a whole number of 16 input groups (544), with every product at
    /// its largest in one row (the 32-bit totals' worst case at 512, and the split inputs' halves
    /// at their largest).
    @Test(arguments: [32, 512, 544, 1024])
    func manyVectorsEqualOneAtATime(stride: Int) {
        let rows = 45
        var g = SeededGenerator(seed: UInt64(stride))
        for count in [1, 4, 7] {
            var x = (0..<count * stride).map { _ in Int16.random(in: -32767...32767, using: &g) }
            for p in 0..<stride { x[p] = p % 3 == 0 ? -32767 : 32767 }  // vector 0 at its largest
            var w = (0..<rows * stride).map { _ in Int8.random(in: -127...127, using: &g) }
            for p in 0..<stride { w[5 * stride + p] = x[p] < 0 ? -127 : 127 }  // row 5: every product largest
            let scales = (0..<rows).map { _ in Float.random(in: 1e-4..<1e-2, using: &g) }
            let inputScales = (0..<count).map { _ in Float.random(in: 1e-5..<1e-4, using: &g) }
            let bias = (0..<rows).map { _ in Float.random(in: -1..<1, using: &g) }
            let start = (0..<count * rows).map { _ in Float.random(in: -1..<1, using: &g) }
            for b in [bias, nil] as [[Float]?] {
                for accumulate in [0, 1] as [Int32] {
                    var one = start, many = start, plain = start
                    for i in 0..<count {
                        x.withUnsafeBufferPointer { xs in
                            one.withUnsafeMutableBufferPointer { y in
                                cadenza_int8_rows(
                                    xs.baseAddress! + i * stride, w, stride, 3, rows, scales, inputScales[i], b,
                                    accumulate, y.baseAddress! + i * rows)
                            }
                        }
                    }
                    cadenza_int8_rows_many(
                        x, stride, inputScales, count, w, stride, 3, rows, scales, b, accumulate, &many, rows)
                    cadenza_int8_rows_many_portable(
                        x, stride, inputScales, count, w, stride, 3, rows, scales, b, accumulate, &plain, rows)
                    let what = "\(count) vectors, bias \(b != nil), accumulate \(accumulate)"
                    #expect(many.map(\.bitPattern) == one.map(\.bitPattern), "\(what)")
                    #expect(plain.map(\.bitPattern) == one.map(\.bitPattern), "\(what), plain loop")
                    if cadenza_cpu_has_avx2() != 0 {
                        var avx2 = start
                        cadenza_int8_rows_many_avx2(
                            x, stride, inputScales, count, w, stride, 3, rows, scales, b, accumulate, &avx2, rows)
                        #expect(avx2.map(\.bitPattern) == one.map(\.bitPattern), "\(what), AVX2")
                    }
                    // Rows before the range are left alone.
                    #expect(
                        (0..<count).allSatisfy { i in (0..<3).allSatisfy { many[i * rows + $0] == start[i * rows + $0] }
                        })
                }
            }
            // Row 5 of vector 0 really reaches the largest total.
            let largest = Int64(stride) * 127 * 32767
            #expect((0..<stride).reduce(Int64(0)) { $0 + Int64(x[$1]) * Int64(w[5 * stride + $1]) } == largest)
        }
    }

    /// `DecoderMatrix.multiply(_:vectors:…)` gives each vector the one-vector product's bits, in
    /// every precision and epilogue, for a member's several row ranges.
    @Test(arguments: DecoderMatrix.Precision.allCases)
    func aMatrixTimesManyVectorsEqualsOneAtATime(precision: DecoderMatrix.Precision) {
        let (outputs, inputs, count) = (70, 300, 6)
        let matrix = DecoderMatrix(
            randomValues(outputs * inputs, seed: 1), outputs: outputs, inputs: inputs, transposed: false,
            precision: precision)
        let x = randomValues(count * (inputs + 5), seed: 2), bias = randomValues(outputs, seed: 3)
        let start = randomValues(count * (outputs + 2), seed: 4)
        let ranges = RowRanges(4..<20, repeated: 3, every: 22)
        #expect((0..<ranges.blocks).map { ranges[$0] } == [4..<20, 26..<42, 48..<64])
        for epilogue in [DecoderMatrix.Epilogue.store, .gelu, .accumulate] {
            var one = start, many = start
            x.withUnsafeBufferPointer { xs in
                one.withUnsafeMutableBufferPointer { y in
                    for i in 0..<count {
                        matrix.multiply(
                            xs.baseAddress! + i * (inputs + 5), bias: bias, into: y.baseAddress! + i * (outputs + 2),
                            epilogue: epilogue, rowRanges: ranges)
                    }
                }
                many.withUnsafeMutableBufferPointer { y in
                    matrix.multiply(
                        xs.baseAddress!, vectors: count, inputStride: inputs + 5, bias: bias, into: y.baseAddress!,
                        outputStride: outputs + 2, epilogue: epilogue, rowRanges: ranges)
                }
            }
            #expect(many.map(\.bitPattern) == one.map(\.bitPattern), "\(precision) \(epilogue)")
            #expect(many != start)
            // Rounded once in two shares (as a team's members round theirs), kept in a buffer
            // that another matrix of the same inputs shares, then multiplied: the same bits.
            guard precision.isInteger else { continue }
            let other = DecoderMatrix(
                randomValues(9 * inputs, seed: 5), outputs: 9, inputs: inputs, transposed: false, precision: precision)
            let rounded = DecoderMatrix.RoundedInputs(capacity: count + 1, for: other)
            var kept = start
            x.withUnsafeBufferPointer { xs in
                for share in [0..<2, 2..<count] {
                    matrix.round(xs.baseAddress!, vectors: share, inputStride: inputs + 5, into: rounded)
                }
                kept.withUnsafeMutableBufferPointer { y in
                    matrix.multiply(
                        rounded, vectors: count, bias: bias, into: y.baseAddress!, outputStride: outputs + 2,
                        epilogue: epilogue, rowRanges: ranges)
                }
            }
            #expect(kept.map(\.bitPattern) == one.map(\.bitPattern), "\(precision) \(epilogue), rounded once")
        }
    }

    /// A NaN or an infinity in the input makes every output NaN, as in float32 and float16,
    /// so the sampler reports it instead of drawing from plausible-looking numbers.
    @Test func aNaNOrInfiniteInputGivesNaN() {
        let (outputs, inputs) = (8, 40)
        let matrix = DecoderMatrix(
            randomValues(outputs * inputs, seed: 3), outputs: outputs, inputs: inputs,
            transposed: false, precision: .int8)
        for bad in [Float.nan, .infinity, -.infinity] {
            for position in [0, 17, 39] {  // inside the vector part and in the scalar tail
                var x = randomValues(inputs, seed: 4)
                x[position] = bad
                var y = Array(repeating: Float(0), count: outputs)
                matrix.multiply(x, bias: randomValues(outputs, seed: 5), into: &y)
                #expect(y.allSatisfy { $0.isNaN }, "\(bad) at \(position)")
            }
        }
    }

    @Test func zeroInputsAndZeroRowsGiveTheBias() {
        let (outputs, inputs) = (5, 40)
        var w = randomValues(outputs * inputs, seed: 3)
        for p in 0..<inputs { w[2 * inputs + p] = 0 }  // row 2 all zeros
        let bias = randomValues(outputs, seed: 4)
        let matrix = DecoderMatrix(w, outputs: outputs, inputs: inputs, transposed: false, precision: .int8)
        var y = Array(repeating: Float.nan, count: outputs)
        matrix.multiply(Array(repeating: 0, count: inputs), bias: bias, into: &y)
        #expect(y == bias)
        matrix.multiply(randomValues(inputs, seed: 5), bias: bias, into: &y)
        #expect(y[2] == bias[2])
    }
}

/// `x` in runs of `headSize` (a slot's key or value of one head), each rounded to 127 levels of
/// its largest magnitude, as an int4 decoder's cache stores them.
private func roundedPerHead(_ x: [Float], headSize d: Int) -> [Float] {
    stride(from: 0, to: x.count, by: d).flatMap { start -> [Float] in
        let run = x[start..<start + d], largest = run.map(abs).max() ?? 0
        guard largest > 0 else { return Array(run) }
        return run.map { ($0 * (127 / largest)).rounded(.toNearestOrEven) * (largest / 127) }
    }
}

@Suite struct DecoderCacheTests {
    /// One query over `count` cached positions against `Attention.forward` on the same rows.
    @Test(arguments: DecoderMatrix.Precision.allCases, [1, 17, 64, 100])
    func attentionEqualsTheGeneralKernel(precision: DecoderMatrix.Precision, count: Int) {
        let (H, d, capacity) = (4, 32, 100)
        let keys = randomValues(count * H * d, seed: 3), values = randomValues(count * H * d, seed: 4)
        let query = randomValues(H * d, seed: 5).map { $0 * 3 }  // sharp enough that scores matter
        let cache = DecoderCache(layers: 2, heads: H, headSize: d, capacity: capacity, precision: precision)
        var scores = Array(repeating: Float(0), count: cache.scoreScratchCount)
        var out = Array(repeating: Float.nan, count: H * d)
        // Two blocks of stores, the second starting mid-block.
        let split = min(5, count - 1)
        for part in [0..<split, split..<count - 1] where !part.isEmpty {
            let rows = part.lowerBound * H * d
            cache.store(
                layer: 1, positions: part, keys: Array(keys[rows...]), values: Array(values[rows...]),
                rowStride: H * d)
        }
        let last = (count - 1) * H * d
        cache.append(
            layer: 1, key: Array(keys[last...]), value: Array(values[last...]), thenAttend: query,
            slots: 0..<count, out: &out, scores: &scores)
        // A team's members each attend with their share of the heads: the same bits.
        var byHeads = Array(repeating: Float.nan, count: H * d)
        for heads in [0..<1, 1..<H] {
            cache.append(
                layer: 1, key: Array(keys[last...]), value: Array(values[last...]), thenAttend: query,
                slots: 0..<count, out: &byHeads, scores: &scores, heads: heads)
        }
        #expect(byHeads.map(\.bitPattern) == out.map(\.bitPattern))

        // Reference: the training kernel on the same values, rounded as the cache stores them.
        // (int8 decoders cache keys and values in float16, int4 ones in 8 bits per slot and head.)
        func stored(_ v: [Float]) -> [Float] {
            switch precision {
            case .float32: return v
            case .int4: return roundedPerHead(v, headSize: d)
            case .float16, .int8: return v.map { Float(Float16($0)) }
            }
        }
        var (k, v, q) = (stored(keys), stored(values), query)
        var expected = Array(repeating: Float(0), count: H * d)
        var probabilities = Array(repeating: Float(0), count: H * count)
        k.withUnsafeMutableBufferPointer { k in
            v.withUnsafeMutableBufferPointer { v in
                q.withUnsafeMutableBufferPointer { q in
                    Attention.forward(
                        out: &expected, probabilities: &probabilities,
                        q: HeadRows(base: q.baseAddress!, rowStride: H * d, batchStride: H * d),
                        k: HeadRows(base: k.baseAddress!, rowStride: H * d, batchStride: count * H * d),
                        v: HeadRows(base: v.baseAddress!, rowStride: H * d, batchStride: count * H * d),
                        relative: nil, dropMask: nil,
                        shape: AttentionShape(batch: 1, queries: 1, memory: count - 1, heads: H, headSize: d))
                }
            }
        }
        expectNear(out, expected, 1e-5, "\(precision), \(count) positions")
    }

    /// The cache's attention sums in one fixed order, whatever blocks its kernels group keys
    /// and components into (a step and a batched read must give the same bits, and so must one
    /// build and the next): each score a chain over q's components where the key lies below the
    /// last whole block of 64, else even and odd components in two chains added at the end;
    /// each output component even and odd keys likewise. Counts that take blocks of 128 and 64
    /// keys, pairs of 16-key blocks and a lone one.
    @Test(arguments: [1, 17, 48, 64, 100, 129, 200, 256], [false, true])
    func attentionSumsInItsDocumentedOrder(count: Int, wideBlocks: Bool) {
        let (H, d, capacity) = (2, 32, 256)
        let keys = randomValues(count * H * d, seed: 6), values = randomValues(count * H * d, seed: 7)
        let query = randomValues(H * d, seed: 8).map { $0 * 3 }
        let cache = DecoderCache(layers: 1, heads: H, headSize: d, capacity: capacity, precision: .int8)
        cache.wideBlocks = wideBlocks
        cache.store(layer: 0, positions: 0..<count, keys: keys, values: values, rowStride: H * d)
        var scores = Array(repeating: Float(0), count: cache.scoreScratchCount)
        var out = Array(repeating: Float.nan, count: H * d)
        cache.attend(layer: 0, query: query, slots: 0..<count, out: &out, scores: &scores, heads: 0..<H)

        let k = keys.map { Float(Float16($0)) }, v = values.map { Float(Float16($0)) }
        let chained = count / 64 * 64
        let stride = scores.count / H
        for n in 0..<H {
            func key(_ j: Int, _ c: Int) -> Float { k[j * H * d + n * d + c] }
            var row = (0..<stride).map { j -> Float in
                guard j < count else { return 0 }
                if j < chained {
                    return (0..<d).reduce(Float(0)) { $0.addingProduct(query[n * d + $1], key(j, $1)) }
                }
                var even: Float = 0, odd: Float = 0
                for c in 0..<d {
                    if c % 2 == 0 {
                        even.addProduct(query[n * d + c], key(j, c))
                    } else {
                        odd.addProduct(query[n * d + c], key(j, c))
                    }
                }
                return even + odd
            }
            row.withUnsafeMutableBufferPointer {
                Softmax.row($0.baseAddress!, visible: 0..<count, keys: count, scale: 1 / Float(d).squareRoot())
            }
            #expect(
                Array(row[0..<count]).map(\.bitPattern)
                    == Array(scores[n * stride..<n * stride + count]).map(\.bitPattern))
            let expected = (0..<d).map { c -> Float in
                var even: Float = 0, odd: Float = 0
                for j in 0..<count {
                    let term = v[j * H * d + n * d + c]
                    if j % 2 == 0 { even.addProduct(row[j], term) } else { odd.addProduct(row[j], term) }
                }
                return even + odd
            }
            #expect(expected.map(\.bitPattern) == Array(out[n * d..<(n + 1) * d]).map(\.bitPattern), "head \(n)")
        }
    }

    /// Many queries at consecutive positions at once (a GPT-2 window read) give each query the
    /// bits of attending alone: groups of four whose counts straddle a block of 64 keys (where
    /// the four sum some scores in different ways), groups inside one block, a remainder of
    /// fewer than four, both storage precisions and two head widths. Wide blocks or not (the
    /// default where the registers hold them), as the one-query call sums.
    @Test(arguments: [DecoderMatrix.Precision.float32, .int8, .int4], [(1, 9), (50, 30), (61, 70), (124, 133)])
    func manyQueriesEqualOneAtATime(precision: DecoderMatrix.Precision, slots: (first: Int, count: Int)) {
        for (d, wideBlocks) in [(32, true), (64, true), (32, false), (64, false)] {
            let (H, capacity) = (3, 256)
            let total = slots.first + slots.count - 1
            let keys = randomValues(total * H * d, seed: 11), values = randomValues(total * H * d, seed: 12)
            let queries = randomValues(slots.count * H * d, seed: 13).map { $0 * 3 }
            let cache = DecoderCache(layers: 2, heads: H, headSize: d, capacity: capacity, precision: precision)
            cache.wideBlocks = wideBlocks
            cache.store(layer: 1, positions: 0..<total, keys: keys, values: values, rowStride: H * d)
            var scores = Array(repeating: Float(0), count: cache.queriesScratchCount)
            var together = Array(repeating: Float.nan, count: slots.count * H * d)
            // Two members' shares of the heads, as a team would split them.
            for heads in [0..<1, 1..<H] {
                cache.attend(
                    layer: 1, queries: queries, queryStride: H * d, count: slots.count, firstSlots: slots.first,
                    out: &together, outStride: H * d, scores: &scores, heads: heads)
            }
            for i in 0..<slots.count {
                var alone = Array(repeating: Float.nan, count: H * d)
                cache.attend(
                    layer: 1, query: Array(queries[i * H * d..<(i + 1) * H * d]), slots: 0..<slots.first + i,
                    out: &alone, scores: &scores, heads: 0..<H)
                #expect(
                    alone.map(\.bitPattern) == Array(together[i * H * d..<(i + 1) * H * d]).map(\.bitPattern),
                    "\(precision), d \(d), wide \(wideBlocks), query \(i) over \(slots.first + i) slots")
            }
        }
    }

    /// An int4 decoder's cache holds keys, values and Transformer-XL's position vectors in 8 bits
    /// with one scale per slot and head: its attention, with the relative terms, before and after
    /// its live slots move to the front, equals a float32 cache's over the same numbers rounded
    /// that way; a NaN in a key makes its head's output NaN.
    @Test func anInt8CacheAttendsOverItsRoundedValues() {
        let (H, d, capacity, count) = (3, 32, 40, 37)
        let keys = randomValues(count * H * d, seed: 21), values = randomValues(count * H * d, seed: 22)
        let positions = randomValues(capacity * H * d, seed: 23)
        let query = randomValues(H * d, seed: 24).map { $0 * 3 }
        let contentBias = randomValues(H * d, seed: 25), positionBias = randomValues(H * d, seed: 26)
        func caches(_ precision: DecoderMatrix.Precision, _ round: ([Float]) -> [Float]) -> (DecoderCache, DecoderCache)
        {
            let cache = DecoderCache(layers: 1, heads: H, headSize: d, capacity: capacity, precision: precision)
            let byDistance = DecoderCache(
                layers: 1, heads: H, headSize: d, capacity: capacity, precision: precision, keysOnly: true)
            cache.store(layer: 0, positions: 0..<count, keys: round(keys), values: round(values), rowStride: H * d)
            byDistance.store(layer: 0, positions: 0..<capacity, keys: round(positions), values: nil, rowStride: H * d)
            return (cache, byDistance)
        }
        let (small, smallDistances) = caches(.int4) { $0 }
        let (exact, exactDistances) = caches(.float32) { roundedPerHead($0, headSize: d) }
        func attend(_ cache: DecoderCache, _ byDistance: DecoderCache, slots: Range<Int>, relative: Bool) -> [Float] {
            var scores = Array(repeating: Float(0), count: cache.scoreScratchCount)
            var out = Array(repeating: Float.nan, count: H * d)
            contentBias.withUnsafeBufferPointer { u in
                positionBias.withUnsafeBufferPointer { v in
                    let terms = DecoderCache.Relative(
                        positions: byDistance, contentBias: u.baseAddress!, positionBias: v.baseAddress!)
                    cache.attend(
                        layer: 0, query: query, slots: slots, relative: relative ? terms : nil, out: &out,
                        scores: &scores, heads: 0..<H)
                }
            }
            return out
        }
        for relative in [false, true] {
            let got = attend(small, smallDistances, slots: 3..<count, relative: relative)
            expectNear(got, attend(exact, exactDistances, slots: 3..<count, relative: relative), 1e-5, "\(relative)")
            #expect(got != attend(exact, exactDistances, slots: 2..<count, relative: relative))
        }
        for cache in [small, exact] { cache.moveToFront(from: 10, count: count - 10) }
        expectNear(
            attend(small, smallDistances, slots: 0..<count - 10, relative: true),
            attend(exact, exactDistances, slots: 0..<count - 10, relative: true), 1e-5, "moved to the front")
        var broken = keys
        broken[5 * H * d + 7] = .nan
        small.store(layer: 0, positions: 0..<count, keys: broken, values: values, rowStride: H * d)
        let poisoned = attend(small, smallDistances, slots: 0..<count, relative: false)
        #expect(poisoned[0..<d].allSatisfy { $0.isNaN } && poisoned[d...].allSatisfy { $0.isFinite })
    }
}

/// The int8 kernel is chosen at run time (issue 19): VNNI exactly where the CPU reports it, and
/// either way the outputs equal the plain loop's.
@Test func theInt8KernelIsChosenByTheCPUAtRunTime() {
    let flags = CPUInfo.read().flags
    #expect(DecoderMatrix.Precision.int8UsesVNNI == (flags.contains("avx512_vnni") && flags.contains("avx512bw")))
    var g = SeededGenerator(seed: 3)
    let stride = 64, rows = 7
    let x = (0..<stride).map { _ in Int16.random(in: -3000...3000, using: &g) }
    let w = (0..<(stride * rows)).map { _ in Int8.random(in: -127...127, using: &g) }
    let scales = [Float](repeating: 1, count: rows)
    var fast = [Float](repeating: 0, count: rows), plain = fast
    cadenza_int8_rows(x, w, stride, 0, rows, scales, 1, nil, 0, &fast)
    cadenza_int8_rows_portable(x, w, stride, 0, rows, scales, 1, nil, 0, &plain)
    #expect(fast == plain && fast.contains { $0 != 0 })
}

@Suite struct Int4DecoderMatrixTests {
    /// What the int4 product must compute, in Double: each weight rounded to the odd level
    /// (2u - 15) nearest to it in units of max |w_j| / 15, the input to integers of max |x| / 127,
    /// products summed exactly, then scaled back and the bias added.
    static func expected(_ w: [Float], _ x: [Float], _ bias: [Float], outputs: Int, inputs: Int) -> [Float] {
        let largestInput = Double(x.map { abs($0) }.max() ?? 0)
        let inputScale = largestInput / 127
        let roundedX = x.map { largestInput > 0 ? (Double($0) / inputScale).rounded(.toNearestOrEven) : 0 }
        return (0..<outputs).map { j in
            let row = w[(j * inputs)..<((j + 1) * inputs)].map(Double.init)
            let rowScale = (row.map { abs($0) }.max() ?? 0) / 15
            let levels = row.map { v -> Double in
                guard rowScale > 0 else { return 0 }
                let u = min(15, max(0, ((v / rowScale + 15) / 2).rounded(.toNearestOrEven)))
                return 2 * u - 15
            }
            let sum = zip(levels, roundedX).reduce(0.0) { $0 + $1.0 * $1.1 }
            return Float(sum * rowScale * inputScale + Double(bias[j]))
        }
    }

    @Test(arguments: [false, true])
    func productIsTheExactSumOfTheRoundedIntegers(transposed: Bool) {
        expectExactIntegerProducts(.int4, transposed: transposed, shapes: DecoderMatrixTests.shapes + [(9, 300)]) {
            Self.expected($0, $1, $2, outputs: $3, inputs: $4)
        }
    }

    /// Against float32: weights to within max |w| / 15 (half the step of 2 x that between odd
    /// levels), the input to 127 levels.
    @Test func errorAgainstFloat32StaysInsideTheRoundingBound() {
        expectErrorInsideTheRoundingBound(
            .int4, weightHalfStep: { $0 / 15 }, inputLevels: 127, byteCount: 64 * 256 / 2 + 64 * 4)
    }

    /// The kernel this CPU runs (VNNI or AVX2), the AVX2 kernel (wherever the CPU has AVX2) and
    /// the plain loop give the same bits, one vector and many, for rows of one group of 8 inputs
    /// and of many, a row range that starts inside the first panel of 16 rows, takes four panels
    /// at once (one vector and many), then two (many) and a remainder, and ends inside a panel
    /// past the matrix's last row; with and without a
    /// bias, storing and accumulating; one row at the largest total; and the plain loop is the
    /// header's formula on exact sums.
    @Test(arguments: [8, 136, 1024])
    func theVectorKernelEqualsThePlainLoop(stride: Int) {
        let rows = 109  // seven panels of 16, the last one partly past the matrix
        var g = SeededGenerator(seed: UInt64(stride))
        for count in [1, 4, 7] {
            var x = (0..<count * stride).map { _ in Int8.random(in: -127...127, using: &g) }
            for p in 0..<stride { x[p] = 127 }  // vector 0 at its largest
            var w = (0..<112 * stride / 2).map { _ in UInt8.random(in: 0...255, using: &g) }
            func byte(_ j: Int, _ p: Int) -> Int { ((j / 16) * (stride / 8) + p / 8) * 64 + (j % 16) * 4 + p % 4 }
            for p in 0..<stride { w[byte(5, p)] = 0xFF }  // row 5: every weight at its largest
            let sums = (0..<count).map { i in x[(i * stride)..<((i + 1) * stride)].reduce(Int32(0)) { $0 + Int32($1) } }
            let scales = (0..<rows).map { _ in Float.random(in: 1e-4..<1e-2, using: &g) }
            let inputScales = (0..<count).map { _ in Float.random(in: 1e-3..<1e-2, using: &g) }
            let bias = (0..<rows).map { _ in Float.random(in: -1..<1, using: &g) }
            let start = (0..<count * rows).map { _ in Float.random(in: -1..<1, using: &g) }
            func nibble(_ j: Int, _ p: Int) -> Int64 {
                let stored = w[byte(j, p)]
                return Int64(p % 8 < 4 ? stored & 15 : stored >> 4)
            }
            func total(_ i: Int, _ j: Int) -> Int64 {
                (0..<stride).reduce(Int64(0)) { $0 + (2 * nibble(j, $1) - 15) * Int64(x[i * stride + $1]) }
            }
            #expect(total(0, 5) == Int64(stride) * 15 * 127)
            for b in [bias, nil] as [[Float]?] {
                for accumulate in [0, 1] as [Int32] {
                    var one = start, plain = start, many = start, manyPlain = start
                    for i in 0..<count {
                        x.withUnsafeBufferPointer { xs in
                            for (target, vector) in [(0, true), (1, false)] {
                                func run(_ y: UnsafeMutablePointer<Float>) {
                                    let xi = xs.baseAddress! + i * stride
                                    if vector {
                                        cadenza_int4_rows(
                                            xi, sums[i], w, stride, 3, rows, scales, inputScales[i], b, accumulate, y)
                                    } else {
                                        cadenza_int4_rows_portable(
                                            xi, sums[i], w, stride, 3, rows, scales, inputScales[i], b, accumulate, y)
                                    }
                                }
                                if target == 0 {
                                    one.withUnsafeMutableBufferPointer { run($0.baseAddress! + i * rows) }
                                } else {
                                    plain.withUnsafeMutableBufferPointer { run($0.baseAddress! + i * rows) }
                                }
                            }
                        }
                    }
                    cadenza_int4_rows_many(
                        x, stride, sums, inputScales, count, w, stride, 3, rows, scales, b, accumulate, &many, rows)
                    cadenza_int4_rows_many_portable(
                        x, stride, sums, inputScales, count, w, stride, 3, rows, scales, b, accumulate, &manyPlain, rows
                    )
                    let what = "stride \(stride), \(count) vectors, bias \(b != nil), accumulate \(accumulate)"
                    #expect(one.map(\.bitPattern) == plain.map(\.bitPattern), "\(what)")
                    #expect(many.map(\.bitPattern) == one.map(\.bitPattern), "\(what), many")
                    #expect(manyPlain.map(\.bitPattern) == one.map(\.bitPattern), "\(what), many, plain loop")
                    if cadenza_cpu_has_avx2() != 0 {
                        var avx2 = start, manyAVX2 = start
                        x.withUnsafeBufferPointer { xs in
                            avx2.withUnsafeMutableBufferPointer { y in
                                for i in 0..<count {
                                    cadenza_int4_rows_avx2(
                                        xs.baseAddress! + i * stride, sums[i], w, stride, 3, rows, scales,
                                        inputScales[i], b, accumulate, y.baseAddress! + i * rows)
                                }
                            }
                        }
                        cadenza_int4_rows_many_avx2(
                            x, stride, sums, inputScales, count, w, stride, 3, rows, scales, b, accumulate, &manyAVX2,
                            rows)
                        #expect(avx2.map(\.bitPattern) == one.map(\.bitPattern), "\(what), AVX2")
                        #expect(manyAVX2.map(\.bitPattern) == one.map(\.bitPattern), "\(what), many, AVX2")
                    }
                    let expected = (0..<count * rows).map { k -> Float in
                        let (i, j) = (k / rows, k % rows)
                        guard j >= 3 else { return start[k] }  // rows before `first` untouched
                        let product = Float(total(i, j)) * (scales[j] * inputScales[i])
                        let value = product + (b?[j] ?? 0)
                        return accumulate == 1 ? start[k] + value : value
                    }
                    #expect(plain.map(\.bitPattern) == expected.map(\.bitPattern), "\(what), formula")
                }
            }
        }
    }

    @Test func aNaNOrInfiniteInputGivesNaN() {
        let (outputs, inputs) = (8, 40)
        let matrix = DecoderMatrix(
            randomValues(outputs * inputs, seed: 3), outputs: outputs, inputs: inputs, transposed: false,
            precision: .int4)
        for bad in [Float.nan, .infinity, -.infinity] {
            var x = randomValues(inputs, seed: 4)
            x[37] = bad
            var y = Array(repeating: Float(0), count: outputs)
            matrix.multiply(x, bias: randomValues(outputs, seed: 5), into: &y)
            #expect(y.allSatisfy { $0.isNaN }, "\(bad)")
        }
    }

    /// A zero input gives the bias exactly (the offset of 15 * sum(x) is taken out to nothing).
    @Test func zeroInputsGiveTheBias() {
        let (outputs, inputs) = (5, 40)
        let matrix = DecoderMatrix(
            randomValues(outputs * inputs, seed: 3), outputs: outputs, inputs: inputs, transposed: false,
            precision: .int4)
        let bias = randomValues(outputs, seed: 4)
        var y = Array(repeating: Float.nan, count: outputs)
        matrix.multiply(Array(repeating: 0, count: inputs), bias: bias, into: &y)
        #expect(y == bias)
    }
}
