import Testing
@testable import Tensor

/// Attention inputs laid out as the models hold them: one fused [B, K, 3·H·d] projection whose
/// last T rows are the queries, plus r [K, H·d] by distance and u, v [H, d].
private struct AttentionFixture {
    let shape: AttentionShape
    let qkv: Tensor, r: Tensor, u: Tensor, v: Tensor, mask: Tensor?
    let out: Tensor, probabilities: Tensor

    init(_ shape: AttentionShape, dropout: Bool, check: inout GradientCheck) {
        self.shape = shape
        let (B, K, H, d, T) = (shape.batch, shape.keys, shape.heads, shape.headSize, shape.queries)
        qkv = check.random([B, K, 3 * H * d])
        r = check.random([K, H * d])
        u = check.random([H, d], scale: 0.5)
        v = check.random([H, d], scale: 0.5)
        if dropout {
            let m = Tensor(zeros: [B, H, T, K])
            for i in 0..<m.count { m[i] = check.generator.nextUniform() < 0.2 ? 0 : 1.25 }
            mask = m
        } else {
            mask = nil
        }
        out = Tensor(zeros: [B, T, H * d])
        probabilities = Tensor(zeros: [B, H, T, K])
    }

    /// q, k, v views into a fused buffer shaped like `qkv`.
    func views(_ buffer: Tensor) -> (HeadRows, HeadRows, HeadRows) {
        let (K, H, d) = (shape.keys, shape.heads, shape.headSize)
        let row = 3 * H * d, batch = K * row
        return (
            HeadRows(base: buffer.pointer + shape.memory * row, rowStride: row, batchStride: batch),
            HeadRows(base: buffer.pointer + H * d, rowStride: row, batchStride: batch),
            HeadRows(base: buffer.pointer + 2 * H * d, rowStride: row, batchStride: batch)
        )
    }

    func relative(_ on: Bool) -> RelativeTerms? {
        on ? RelativeTerms(r: r.const, u: u.const, v: v.const) : nil
    }

    func forward(relative on: Bool) {
        let (q, k, v) = views(qkv)
        Attention.forward(
            out: out.pointer, probabilities: probabilities.pointer, q: q, k: k, v: v,
            relative: relative(on), dropMask: mask?.const, shape: shape)
    }

    /// The definition, in Double, straight from the spec: s_ij over visible keys, softmax,
    /// dropout mask, weighted sum of v.
    func reference(relative on: Bool) -> [Double] {
        let (B, T, M, K, H, d) = (shape.batch, shape.queries, shape.memory, shape.keys, shape.heads, shape.headSize)
        let row = 3 * H * d
        var result = [Double](repeating: 0, count: B * T * H * d)
        for b in 0..<B {
            for n in 0..<H {
                for i in 0..<T {
                    let visible = shape.visibleKeys(i)
                    var scores = [Double](repeating: -.infinity, count: K)
                    for j in visible {
                        var s = 0.0
                        for c in 0..<d {
                            let qc = Double(qkv[b * K * row + (M + i) * row + n * d + c])
                            let kc = Double(qkv[b * K * row + j * row + H * d + n * d + c])
                            s += (qc + (on ? Double(u[n * d + c]) : 0)) * kc
                            if on { s += (qc + Double(v[n * d + c])) * Double(r[(M + i - j) * H * d + n * d + c]) }
                        }
                        scores[j] = s / Double(d).squareRoot()
                    }
                    let top = scores.max()!
                    let e = scores.map { exp($0 - top) }  // exp(-inf) = 0 at masked keys
                    let total = e.reduce(0, +)
                    for j in visible {
                        var p = e[j] / total
                        if let mask { p *= Double(mask[((b * H + n) * T + i) * K + j]) }
                        for c in 0..<d {
                            result[(b * T + i) * H * d + n * d + c] +=
                                p * Double(qkv[b * K * row + j * row + 2 * H * d + n * d + c])
                        }
                    }
                }
            }
        }
        return result
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct AttentionTests {
    /// (B, T, M, H, d, window): memory present with T != M, odd head sizes (scalar tails of
    /// the 16-lane vectors), a window shorter than the memory, M = 0 (first segment / GPT-2),
    /// and a head wide enough for the 32-column register blocks.
    static let shapes: [AttentionShape] = [
        AttentionShape(batch: 2, queries: 3, memory: 5, heads: 2, headSize: 5),
        AttentionShape(batch: 1, queries: 6, memory: 4, heads: 3, headSize: 17, window: 3),
        AttentionShape(batch: 2, queries: 4, memory: 0, heads: 2, headSize: 7),
        AttentionShape(batch: 3, queries: 1, memory: 9, heads: 2, headSize: 19),
        // 48 = one 32-column block + one 16-column block; 9 queries = two 4-row blocks + 1.
        AttentionShape(batch: 1, queries: 9, memory: 6, heads: 2, headSize: 48),
    ]

    @Test(arguments: shapes, [false, true])
    func forwardMatchesTheDefinition(shape: AttentionShape, relative: Bool) {
        var check = GradientCheck(seed: UInt64(shape.keys * 31 + shape.headSize))
        for dropout in [false, true] {
            let f = AttentionFixture(shape, dropout: dropout, check: &check)
            f.forward(relative: relative)
            let expected = f.reference(relative: relative)
            var worst = 0.0
            for i in 0..<expected.count { worst = max(worst, abs(Double(f.out[i]) - expected[i])) }
            #expect(worst < 1e-5, "max |out - reference| = \(worst) for \(shape), dropout \(dropout)")
        }
    }

    @Test(arguments: shapes, [false, true])
    func gradientsMatchFiniteDifferences(shape: AttentionShape, relative: Bool) {
        var check = GradientCheck(seed: UInt64(shape.keys * 17 + shape.heads))
        let f = AttentionFixture(shape, dropout: relative, check: &check)
        let probe = check.random(f.out.shape)
        func loss() -> Double {
            f.forward(relative: relative)
            return GradientCheck.weightedSum(f.out, probe)
        }
        _ = loss()
        let dqkv = Tensor(zeros: f.qkv.shape), dr = Tensor(zeros: f.r.shape)
        let du = Tensor(zeros: f.u.shape), dv = Tensor(zeros: f.v.shape)
        let (dq, dk, dvRows) = f.views(dqkv), (q, k, v) = f.views(f.qkv)
        Attention.backward(
            dq: dq, dk: dk, dv: dvRows,
            dRelative: relative ? RelativeGradients(r: dr.pointer, u: du.pointer, v: dv.pointer) : nil,
            dOut: probe.const, probabilities: f.probabilities.const, q: q, k: k, v: v,
            relative: f.relative(relative), dropMask: f.mask?.const, shape: shape)
        check.expectGradient("dqkv", of: f.qkv, analytic: dqkv, samples: 120, step: 1e-2, loss: loss)
        if relative {
            check.expectGradient("dr", of: f.r, analytic: dr, samples: 60, loss: loss)
            check.expectGradient("du", of: f.u, analytic: du, loss: loss)
            check.expectGradient("dv", of: f.v, analytic: dv, loss: loss)
        }
    }

    /// Incremental generation: the last query alone over all K keys gives the same output as
    /// the last row of the full segment forward, on 1 and 2 threads (the second shape is big
    /// enough for the single-query path to split its heads over threads).
    @Test(arguments: [(2, 5, 7, 3), (1, 2, 599, 8)])
    func singleQueryPathMatchesTheLastRowOfASegment(batch: Int, queries: Int, memory: Int, heads: Int) {
        var check = GradientCheck(seed: 77)
        let d = 32
        let full = AttentionShape(batch: batch, queries: queries, memory: memory, heads: heads, headSize: d)
        let f = AttentionFixture(full, dropout: false, check: &check)
        f.forward(relative: true)
        let (B, H, K) = (batch, heads, full.keys)
        let one = AttentionShape(batch: B, queries: 1, memory: K - 1, heads: H, headSize: d)
        let row = 3 * H * d
        for threads in [1, 2] {
            let saved = Parallel.threadCount
            Parallel.threadCount = threads
            defer { Parallel.threadCount = saved }
            let out = Tensor(zeros: [B, 1, H * d]), probabilities = Tensor(zeros: [B, H, 1, K])
            Attention.forward(
                out: out.pointer, probabilities: probabilities.pointer,
                q: HeadRows(base: f.qkv.pointer + (K - 1) * row, rowStride: row, batchStride: K * row),
                k: HeadRows(base: f.qkv.pointer + H * d, rowStride: row, batchStride: K * row),
                v: HeadRows(base: f.qkv.pointer + 2 * H * d, rowStride: row, batchStride: K * row),
                relative: f.relative(true), dropMask: nil, shape: one)
            var worst: Float = 0
            for b in 0..<B {
                for c in 0..<(H * d) {
                    worst = max(worst, abs(out[b * H * d + c] - f.out[(b * queries + queries - 1) * H * d + c]))
                }
            }
            #expect(worst < 1e-5, "threads \(threads): max difference \(worst)")
        }
    }

    @Test func resultsDoNotDependOnThreadCount() {
        var check = GradientCheck(seed: 5)
        let shape = AttentionShape(batch: 3, queries: 9, memory: 11, heads: 5, headSize: 16, window: 12)
        let f = AttentionFixture(shape, dropout: true, check: &check)
        let probe = check.random(f.out.shape)
        func run(threads: Int) -> [Float] {
            let saved = Parallel.threadCount
            Parallel.threadCount = threads
            defer { Parallel.threadCount = saved }
            f.forward(relative: true)
            let dqkv = Tensor(zeros: f.qkv.shape), dr = Tensor(zeros: f.r.shape)
            let du = Tensor(zeros: f.u.shape), dv = Tensor(zeros: f.v.shape)
            let (dq, dk, dvRows) = f.views(dqkv), (q, k, v) = f.views(f.qkv)
            Attention.backward(
                dq: dq, dk: dk, dv: dvRows,
                dRelative: RelativeGradients(r: dr.pointer, u: du.pointer, v: dv.pointer),
                dOut: probe.const, probabilities: f.probabilities.const, q: q, k: k, v: v,
                relative: f.relative(true), dropMask: f.mask?.const, shape: shape)
            return f.out.values + dqkv.values + dr.values + du.values + dv.values
        }
        #expect(run(threads: 1) == run(threads: 2))
        #expect(run(threads: 2) == run(threads: 4))
    }
}
