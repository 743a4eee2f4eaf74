import Testing
@testable import Tensor

@Suite struct LinearTests {
    @Test(arguments: [Linear.WeightLayout.outByIn, .inByOut])
    func gradientsMatchFiniteDifferences(layout: Linear.WeightLayout) {
        var check = GradientCheck(seed: layout == .outByIn ? 1 : 2)
        let rows = check.size(3...9), inF = check.size(5...21), outF = check.size(3...19)
        let x = check.random([rows, inF]), b = check.random([outF])
        let w = check.random(layout == .outByIn ? [outF, inF] : [inF, outF])
        let probe = check.random([rows, outF])
        let out = Tensor(zeros: [rows, outF])
        func loss() -> Double {
            Linear.forward(
                out: out.pointer, input: x.const, weight: w.const, layout: layout, bias: b.const,
                rows: rows, inFeatures: inF, outFeatures: outF)
            return GradientCheck.weightedSum(out, probe)
        }
        _ = loss()
        let dx = Tensor(zeros: x.shape), dw = Tensor(zeros: w.shape), db = Tensor(zeros: b.shape)
        Linear.backward(
            dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOut: probe.const,
            input: x.const, weight: w.const, layout: layout,
            rows: rows, inFeatures: inF, outFeatures: outF)
        check.expectGradient("dInput", of: x, analytic: dx, loss: loss)
        check.expectGradient("dWeight", of: w, analytic: dw, loss: loss)
        check.expectGradient("dBias", of: b, analytic: db, loss: loss)
    }

    @Test func forwardMatchesHandComputedValues() {
        // x [1, 2] = [1, 2]; W [3, 2] (out × in); b = [0.5, 0, -1].
        let x = Tensor(shape: [1, 2], values: [1, 2])
        let w = Tensor(shape: [3, 2], values: [1, 0, 0, 1, 1, 1])
        let b = Tensor(shape: [3], values: [0.5, 0, -1])
        let out = Tensor(zeros: [1, 3])
        Linear.forward(
            out: out.pointer, input: x.const, weight: w.const, bias: b.const,
            rows: 1, inFeatures: 2, outFeatures: 3)
        #expect(out.values == [1.5, 2, 2])
        // The same weights stored [in, out] give the same result.
        let wt = Tensor(shape: [2, 3], values: [1, 0, 1, 0, 1, 1])
        Linear.forward(
            out: out.pointer, input: x.const, weight: wt.const, layout: .inByOut, bias: nil,
            rows: 1, inFeatures: 2, outFeatures: 3)
        #expect(out.values == [1, 2, 3])
    }

    @Test func backwardAccumulatesIntoGradients() {
        var check = GradientCheck(seed: 3)
        let x = check.random([2, 3]), w = check.random([4, 3]), dy = check.random([2, 4])
        let db = Tensor(shape: [4], values: [10, 10, 10, 10])
        Linear.backward(
            dInput: nil, dWeight: nil, dBias: db.pointer, dOut: dy.const, input: x.const,
            weight: w.const, rows: 2, inFeatures: 3, outFeatures: 4)
        for c in 0..<4 { #expect(abs(db[c] - (10 + dy[c] + dy[4 + c])) < 1e-6) }
    }
}

@Suite struct ResidualTests {
    @Test func addsForwardAndCopiesGradientToBothInputs() {
        let a = Tensor(shape: [3], values: [1, 2, 3]), b = Tensor(shape: [3], values: [0.5, -2, 4])
        let out = Tensor(zeros: [3])
        Residual.forward(out: out.pointer, a: a.const, b: b.const, count: 3)
        #expect(out.values == [1.5, 0, 7])
        let da = Tensor(shape: [3], values: [1, 1, 1]), db = Tensor(zeros: [3])
        Residual.backward(dA: da.pointer, dB: db.pointer, dOut: b.const, count: 3)
        #expect(da.values == [1.5, -1, 5])
        #expect(db.values == [0.5, -2, 4])
    }
}
