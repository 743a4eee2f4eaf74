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
