import Testing
@testable import Tensor

@Suite struct GELUTests {
    @Test func gradientMatchesFiniteDifferences() {
        var check = GradientCheck(seed: 11)
        let n = 37
        let x = check.random([n], scale: 2), probe = check.random([n]), out = Tensor(zeros: [n])
        func loss() -> Double {
            GELU.forward(out: out.pointer, input: x.const, count: n)
            return GradientCheck.weightedSum(out, probe)
        }
        let dx = Tensor(zeros: [n])
        GELU.backward(dInput: dx.pointer, dOut: probe.const, input: x.const, count: n)
        check.expectGradient("dInput", of: x, analytic: dx, step: 1e-3, loss: loss)
    }

    @Test func matchesKnownValues() {
        // gelu_new(1) = 0.8411920, gelu_new(-0.5) = -0.1542859 (PyTorch, approximate='tanh').
        let x = Tensor(shape: [3], values: [1, -0.5, 0]), out = Tensor(zeros: [3])
        GELU.forward(out: out.pointer, input: x.const, count: 3)
        #expect(abs(out[0] - 0.8411920) < 1e-6)
        #expect(abs(out[1] - -0.1542859) < 1e-6)
        #expect(out[2] == 0)
    }
}

@Suite struct EmbeddingTests {
    @Test func gathersScaledRowsAndScattersGradients() {
        var check = GradientCheck(seed: 12)
        let vocabulary = 7, width = 19, count = 11
        let table = check.random([vocabulary, width])
        var ids: [Int32] = (0..<count).map { _ in Int32(Int.random(in: 0..<vocabulary, using: &check.generator)) }
        ids[3] = ids[0]  // a repeated token accumulates
        let probe = check.random([count, width]), out = Tensor(zeros: [count, width])
        let scale: Float = 4.358899
        func loss() -> Double {
            ids.withUnsafeBufferPointer {
                Embedding.forward(
                    out: out.pointer, tokens: $0.baseAddress!, table: table.const,
                    count: count, width: width, vocabulary: vocabulary, scale: scale)
            }
            return GradientCheck.weightedSum(out, probe)
        }
        _ = loss()
        #expect(out[2 * width + 5] == table[Int(ids[2]) * width + 5] * scale)
        let dTable = Tensor(zeros: table.shape)
        ids.withUnsafeBufferPointer {
            Embedding.backward(
                dTable: dTable.pointer, dOut: probe.const, tokens: $0.baseAddress!,
                count: count, width: width, scale: scale)
        }
        check.expectGradient("dTable", of: table, analytic: dTable, samples: 200, loss: loss)
    }
}

@Suite struct SoftmaxTests {
    @Test func gradientMatchesFiniteDifferencesAndRowsSumToOne() {
        var check = GradientCheck(seed: 31)
        let rows = 5, width = 37, scale: Float = 0.7
        let x = check.random([rows, width], scale: 2), probe = check.random([rows, width])
        let out = Tensor(zeros: [rows, width])
        func loss() -> Double {
            Softmax.forward(out: out.pointer, input: x.const, rows: rows, width: width, scale: scale)
            return GradientCheck.weightedSum(out, probe)
        }
        _ = loss()
        for r in 0..<rows {
            #expect(abs((0..<width).reduce(0.0) { $0 + Double(out[r * width + $1]) } - 1) < 1e-6)
        }
        let dx = Tensor(zeros: x.shape)
        Softmax.backward(
            dInput: dx.pointer, dOut: probe.const, output: out.const, rows: rows, width: width, scale: scale)
        check.expectGradient("dInput", of: x, analytic: dx, samples: 80, absolute: 5e-4, loss: loss)
    }
}

@Suite struct VectorMaxTests {
    /// The documented order, written out: 16 lanes each taking a value where it is greater, the
    /// lanes folded in order and the tail in index order, each taken where greater or equal.
    static func reference(_ values: [Float]) -> Float {
        var m = -Float.infinity, i = 0
        if values.count >= 16 {
            var lanes = [Float](repeating: -.infinity, count: 16)
            while i + 16 <= values.count {
                for l in 0..<16 where values[i + l] > lanes[l] { lanes[l] = values[i + l] }
                i += 16
            }
            m = lanes[0]
            for l in 1..<16 where lanes[l] >= m { m = lanes[l] }
        }
        while i < values.count {
            if values[i] >= m { m = values[i] }
            i += 1
        }
        return m
    }

    @Test func takesTheLargestInItsDocumentedOrder() {
        var random = SeededGenerator(seed: 12)
        for n in [1, 5, 15, 16, 17, 31, 32, 33, 100, 256, 257] {
            for trial in 0..<20 {
                var values = (0..<n).map { _ in random.nextNormal() * 3 }
                // Signed zeros, NaNs and infinities where the order decides what is kept.
                if trial % 4 == 1 { for j in stride(from: 0, to: n, by: 3) { values[j] = j % 2 == 0 ? 0 : -0.0 } }
                if trial % 4 == 2 { for j in stride(from: 1, to: n, by: 5) { values[j] = .nan } }
                if trial % 4 == 3 { values[n / 2] = trial % 8 == 3 ? .infinity : -.infinity }
                if trial == 9 { values = (0..<n).map { $0 % 2 == 0 ? -0.0 : 0 } }
                if trial == 10 { values = [Float](repeating: .nan, count: n) }
                let got = values.withUnsafeBufferPointer { vectorMax($0.baseAddress!, n) }
                let want = Self.reference(values)
                #expect(got.bitPattern == want.bitPattern, "n \(n), trial \(trial): \(got) against \(want)")
            }
        }
        // Everything but the last value is smaller: the tail is read.
        let rising = (0..<40).map(Float.init)
        #expect(rising.withUnsafeBufferPointer { vectorMax($0.baseAddress!, 40) } == 39)
    }
}
