import Testing
@testable import Tensor

@Suite struct LayerNormTests {
    @Test(arguments: [(3, 7), (5, 33), (2, 64)])
    func gradientsMatchFiniteDifferences(rows: Int, width: Int) {
        var check = GradientCheck(seed: UInt64(rows * 100 + width))
        let x = check.random([rows, width], scale: 2), w = check.random([width]), b = check.random([width])
        for c in 0..<width { w[c] += 1 }
        let probe = check.random([rows, width])
        let out = Tensor(zeros: [rows, width]), mean = Tensor(zeros: [rows]), rstd = Tensor(zeros: [rows])
        func loss() -> Double {
            LayerNorm.forward(
                out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.const,
                weight: w.const, bias: b.const, rows: rows, width: width, eps: 1e-5)
            return GradientCheck.weightedSum(out, probe)
        }
        _ = loss()
        let dx = Tensor(zeros: x.shape), dw = Tensor(zeros: [width]), db = Tensor(zeros: [width])
        LayerNorm.backward(
            dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOut: probe.const,
            input: x.const, weight: w.const, mean: mean.const, rstd: rstd.const,
            rows: rows, width: width)
        check.expectGradient("dInput", of: x, analytic: dx, step: 1e-2, loss: loss)
        check.expectGradient("dWeight", of: w, analytic: dw, loss: loss)
        check.expectGradient("dBias", of: b, analytic: db, loss: loss)
    }

    @Test func normalisesToZeroMeanUnitVariance() {
        let x = Tensor(shape: [1, 4], values: [1, 2, 3, 4])
        let w = Tensor(shape: [4], values: [1, 1, 1, 1]), b = Tensor(zeros: [4])
        let out = Tensor(zeros: [1, 4]), mean = Tensor(zeros: [1]), rstd = Tensor(zeros: [1])
        LayerNorm.forward(
            out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.const,
            weight: w.const, bias: b.const, rows: 1, width: 4, eps: 0)
        #expect(mean[0] == 2.5)
        #expect(abs(rstd[0] - 1 / Float(1.25).squareRoot()) < 1e-6)
        let expected: [Float] = [-1.3416408, -0.4472136, 0.4472136, 1.3416408]
        for i in 0..<4 { #expect(abs(out[i] - expected[i]) < 1e-6) }
    }

    @Test func resultsDoNotDependOnThreadCount() {
        var check = GradientCheck(seed: 9)
        let rows = 301, width = 67
        let x = check.random([rows, width]), w = check.random([width]), b = check.random([width])
        let dy = check.random([rows, width])
        func run(threads: Int) -> [Float] {
            let saved = Parallel.threadCount
            Parallel.threadCount = threads
            defer { Parallel.threadCount = saved }
            let out = Tensor(zeros: [rows, width]), mean = Tensor(zeros: [rows]), rstd = Tensor(zeros: [rows])
            LayerNorm.forward(
                out: out.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.const,
                weight: w.const, bias: b.const, rows: rows, width: width)
            let dx = Tensor(zeros: x.shape), dw = Tensor(zeros: [width]), db = Tensor(zeros: [width])
            LayerNorm.backward(
                dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOut: dy.const,
                input: x.const, weight: w.const, mean: mean.const, rstd: rstd.const,
                rows: rows, width: width)
            return out.values + dx.values + dw.values + db.values
        }
        #expect(run(threads: 1) == run(threads: 2))
        #expect(run(threads: 1) == run(threads: 3))
    }
}
