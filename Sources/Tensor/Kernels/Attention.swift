/// A strided view of per-head rows inside a larger buffer: element `c` of row `t` of batch `b`
/// for head `n` is at `base[b * batchStride + t * rowStride + n * headSize + c]`.
///
/// This lets attention read q, k and v straight out of a fused `[rows, 3 * H * d]` projection
/// (Transformer-XL's `qkv_net`, GPT-2's `c_attn`) or out of a KV cache, without copies.
public struct HeadRows {
    /// Row 0 of batch 0, head 0.
    public var base: UnsafeMutablePointer<Float>
    /// Elements between consecutive rows (time steps).
    public var rowStride: Int
    /// Elements between consecutive batch entries.
    public var batchStride: Int

    /// A view starting at `base`.
    public init(base: UnsafeMutablePointer<Float>, rowStride: Int, batchStride: Int) {
        self.base = base
        self.rowStride = rowStride
        self.batchStride = batchStride
    }

    /// Row 0 of head `n` (of width `d`) in batch entry `b`.
    @inline(__always) func head(_ b: Int, _ n: Int, _ d: Int) -> UnsafeMutablePointer<Float> {
        base + b * batchStride + n * d
    }
}

/// The sizes of one attention call: B streams, T queries, M memory rows before them
/// (K = M + T keys), H heads of width d.
public struct AttentionShape: Equatable, Sendable {
    /// Streams in the batch (B).
    public var batch: Int
    /// Queries, the newest T positions (T).
    public var queries: Int
    /// Keys before the first query: memory or KV-cache rows (M).
    public var memory: Int
    /// Number of heads (H).
    public var heads: Int
    /// Width of one head (d).
    public var headSize: Int
    /// With Transformer-XL's `same_length`, the number of memory rows every query may see
    /// (the model's mem_len): query i sees keys (M + i - window, M + i]. nil: all keys <= M + i.
    public var window: Int?

    /// Keys per query row (K = M + T).
    public var keys: Int { memory + queries }

    /// The shape of a call.
    public init(batch: Int, queries: Int, memory: Int, heads: Int, headSize: Int, window: Int? = nil) {
        self.batch = batch
        self.queries = queries
        self.memory = memory
        self.heads = heads
        self.headSize = headSize
        self.window = window
    }

    /// The keys query `i` sees: causal with M rows of memory, narrowed by `window` (always
    /// at least key M + i itself).
    @inline(__always) public func visibleKeys(_ i: Int) -> Range<Int> {
        let last = memory + i
        let first = window.map { Swift.max(0, last - $0 + 1) } ?? 0
        return Swift.min(first, last)..<(last + 1)
    }
}

/// Transformer-XL's relative-position terms (spec, "Forward pass", the paper's (b) and (d)):
/// `r` holds the projected position vectors indexed by distance (row p = `W_r` applied to the
/// sinusoid of distance p, clamped; see `Sinusoid`), shared by all streams; `u` and `v` are
/// the [H, d] biases (`r_w_bias`, `r_r_bias`).
public struct RelativeTerms {
    /// [K, H * d]: row p is the projected sinusoid of distance p.
    public var r: UnsafePointer<Float>
    /// [H, d]: content bias added to q before the dot with k (`r_w_bias`).
    public var u: UnsafePointer<Float>
    /// [H, d]: position bias added to q before the dot with r (`r_r_bias`).
    public var v: UnsafePointer<Float>

    /// Terms read from these buffers.
    public init(r: UnsafePointer<Float>, u: UnsafePointer<Float>, v: UnsafePointer<Float>) {
        self.r = r
        self.u = u
        self.v = v
    }
}

/// Where the gradients of the relative terms go (added into).
public struct RelativeGradients {
    /// [K, H * d], gradient of `RelativeTerms.r`.
    public var r: UnsafeMutablePointer<Float>
    /// [H, d].
    public var u: UnsafeMutablePointer<Float>
    /// [H, d].
    public var v: UnsafeMutablePointer<Float>

    /// Gradients added into these buffers.
    public init(r: UnsafeMutablePointer<Float>, u: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>) {
        self.r = r
        self.u = u
        self.v = v
    }
}

/// Multi-head scaled dot-product attention over memory + the current segment, shared by both
/// models: GPT-2 (no relative terms; memory = the KV cache) and Transformer-XL (relative terms).
///
/// Scores for query i (absolute key position M + i) and key j, per head:
/// `s_ij = ((q_i + u) · k_j + (q_i + v) · r_{M+i-j}) / √d` (u = v = 0 and no r term without
/// `relative`), masked to `shape.visibleKeys(i)`, `P = softmax_j(s)`, `out_i = Σ_j P_ij v_j`.
/// The position term is computed for every distance a query sees and then read at distance
/// M + i - j: the reference's "relative shift", done by indexing. The products run on
/// `HeadProduct` (unpacked, 8 queries x 32 columns per block), each block stopping at the
/// last key it can see, so the causal mask also saves work.
///
/// Threads: the forward splits the B·H (stream, head) pairs, the backward splits the heads
/// (each head's r, u, v gradients are summed over streams in order on one thread), so results
/// are bit-identical for any thread count. A single query (T = 1, generation) takes a path
/// that allocates nothing.
public enum Attention {
    /// Writes `out` [B, T, H * d] and saves the softmax probabilities `probabilities`
    /// [B, H, T, K] (before dropout; zero at masked keys). `dropMask` [B, H, T, K], when
    /// given, holds 0 or 1/(1-p) and multiplies the probabilities before they weight the values.
    public static func forward(
        out: UnsafeMutablePointer<Float>,
        probabilities: UnsafeMutablePointer<Float>,
        q: HeadRows, k: HeadRows, v: HeadRows,
        relative: RelativeTerms?,
        dropMask: UnsafePointer<Float>?,
        shape s: AttentionShape
    ) {
        let (T, K, H, d) = (s.queries, s.keys, s.heads, s.headSize)
        guard s.batch > 0, T > 0, H > 0, d > 0 else { return }
        if T == 1 {
            forwardSingleQuery(
                out: out, probabilities: probabilities, q: q, k: k, v: v,
                relative: relative, dropMask: dropMask, shape: s)
            return
        }
        let scale = 1 / Float(d).squareRoot()
        // Each head's r transposed with its distances reversed, [d, K] per head, shared by all
        // streams: column K - 1 - p holds distance p, so that query i's position scores, read
        // at distance M + i - j for key j, run forward in j like its keys (a loop that
        // vectorises) instead of backward.
        let reversedWidth = relative == nil ? 0 : H * d * K
        Scratch.withBuffer(reversedWidth) { reversedR in
            if let relative {
                Parallel.forEachRange(H, minimumChunk: 1) { heads in
                    for n in heads {
                        HeadProduct.transpose(
                            relative.r + (K - 1) * H * d + n * d, sourceStride: -H * d, rows: K, columns: d,
                            into: reversedR + n * d * K)
                    }
                }
            }
            forwardHeads(
                out: out, probabilities: probabilities, q: q, k: k, v: v, relative: relative,
                reversedR: reversedR, dropMask: dropMask, shape: s, scale: scale)
        }
    }

    /// The forward for T > 1 with each head's reversed rᵀ in `reversedR` (see `forward`).
    private static func forwardHeads(
        out: UnsafeMutablePointer<Float>,
        probabilities: UnsafeMutablePointer<Float>,
        q: HeadRows, k: HeadRows, v: HeadRows,
        relative: RelativeTerms?,
        reversedR: UnsafePointer<Float>,
        dropMask: UnsafePointer<Float>?,
        shape s: AttentionShape, scale: Float
    ) {
        let (T, K, H, d) = (s.queries, s.keys, s.heads, s.headSize)
        Parallel.forEachRange(s.batch * H, minimumChunk: 1) { items in
            // Scratch per thread, not per (stream, head): q+u, q+v [T, d]; position scores
            // (reversed distances) and dropped probabilities [T, K]; kᵀ [d, K].
            Scratch.withBuffer(2 * T * d + 2 * T * K + d * K) { scratch in
                let qu = scratch, qv = scratch + T * d, positional = scratch + 2 * T * d, dropped = positional + T * K
                let kT = dropped + T * K
                for item in items {
                    let b = item / H, n = item % H
                    let P = probabilities + item * T * K
                    let qHead = q.head(b, n, d), kHead = k.head(b, n, d), vHead = v.head(b, n, d)
                    let rT = reversedR + n * d * K
                    biasedQueries(qu, qv, qHead, q.rowStride, relative, n, T, d)
                    HeadProduct.transpose(kHead, sourceStride: k.rowStride, rows: K, columns: d, into: kT)
                    // Scores by blocks of 8 queries, only up to the last key the block sees:
                    // content (q + u)·k_j → P, position (q + v)·r_p for distances p below
                    // `keys` → the last `keys` columns of positional.
                    forEachQueryBlock(s) { i0, rows, keys in
                        HeadProduct.block(
                            rows: rows, n: keys, k: d, a: .init(base: qu + i0 * d, rowStep: d, columnStep: 1),
                            b: kT, ldb: K, c: P + i0 * K, ldc: K, accumulate: false)
                        if relative != nil {
                            HeadProduct.block(
                                rows: rows, n: keys, k: d, a: .init(base: qv + i0 * d, rowStep: d, columnStep: 1),
                                b: rT + (K - keys), ldb: K, c: positional + i0 * K + (K - keys), ldc: K,
                                accumulate: false)
                        }
                    }
                    for i in 0..<T {
                        let row = P + i * K
                        let visible = s.visibleKeys(i)
                        if relative != nil {
                            // Key j is at distance M + i - j, column K - 1 - M - i + j.
                            addPositions(row, positional + i * K + (K - 1 - s.memory - i), visible)
                        }
                        Softmax.row(row, visible: visible, keys: K, scale: scale)
                    }
                    var weights = UnsafePointer(P)
                    if let dropMask {
                        vectorMultiply(dropped, P, dropMask + item * T * K, T * K)
                        weights = UnsafePointer(dropped)
                    }
                    // out_head [T, d] = weights V, written into the [B, T, H·d] output.
                    let outHead = out + b * T * H * d + n * d
                    forEachQueryBlock(s) { i0, rows, keys in
                        HeadProduct.block(
                            rows: rows, n: d, k: keys, a: .init(base: weights + i0 * K, rowStep: K, columnStep: 1),
                            b: vHead, ldb: v.rowStride, c: outHead + i0 * H * d, ldc: H * d, accumulate: false)
                    }
                }
            }
        }
    }

    /// `row[j] += positions[j]` for j in `visible`, 16 at a time.
    @inline(__always)
    private static func addPositions(
        _ row: UnsafeMutablePointer<Float>, _ positions: UnsafePointer<Float>, _ visible: Range<Int>
    ) {
        var j = visible.lowerBound
        while j + vectorWidth <= visible.upperBound {
            storeVector(loadVector(row + j) + loadVector(positions + j), row + j)
            j += vectorWidth
        }
        while j < visible.upperBound {
            row[j] += positions[j]
            j += 1
        }
    }

    /// Adds the gradients of `forward` into `dq`, `dk`, `dv` (same strided layouts as q, k, v;
    /// dk and dv cover all K rows, memory included, since the projection weights that made
    /// them need them) and, for Transformer-XL, into `dRelative`. `probabilities` and
    /// `dropMask` are what the forward saved and used.
    public static func backward(
        dq: HeadRows, dk: HeadRows, dv: HeadRows,
        dRelative: RelativeGradients?,
        dOut: UnsafePointer<Float>,
        probabilities: UnsafePointer<Float>,
        q: HeadRows, k: HeadRows, v: HeadRows,
        relative: RelativeTerms?,
        dropMask: UnsafePointer<Float>?,
        shape s: AttentionShape
    ) {
        let (T, K, H, d) = (s.queries, s.keys, s.heads, s.headSize)
        guard s.batch > 0, T > 0, H > 0, d > 0 else { return }
        let scale = 1 / Float(d).squareRoot()
        // Threads split the heads: a head's position gradients are shared by all streams.
        Parallel.forEachRange(H, minimumChunk: 1) { heads in
            Scratch.withBuffer(4 * T * d + 3 * T * K + d * K) { scratch in
                let qu = scratch, qv = scratch + T * d, dQu = scratch + 2 * T * d, dQv = scratch + 3 * T * d
                let dP = scratch + 4 * T * d, dPositional = dP + T * K, dropped = dPositional + T * K
                let vT = dropped + T * K
                for n in heads {
                    for b in 0..<s.batch {
                        let item = b * H + n
                        let P = probabilities + item * T * K
                        let qHead = q.head(b, n, d), kHead = k.head(b, n, d), vHead = v.head(b, n, d)
                        let dOutHead = dOut + b * T * H * d + n * d
                        let mask = dropMask.map { $0 + item * T * K }
                        var weights = P
                        if let mask {
                            vectorMultiply(dropped, P, mask, T * K)
                            weights = UnsafePointer(dropped)
                        }
                        // dV += weightsᵀ dOut.
                        forEachKeyBlock(s) { j0, rows, i0 in
                            HeadProduct.block(
                                rows: rows, n: d, k: T - i0,
                                a: .init(base: weights + i0 * K + j0, rowStep: 1, columnStep: K),
                                b: dOutHead + i0 * H * d, ldb: H * d,
                                c: dv.head(b, n, d) + j0 * dv.rowStride, ldc: dv.rowStride, accumulate: true)
                        }
                        // dWeights = dOut Vᵀ (only up to each block's last visible key; the rest
                        // of dP is overwritten by the softmax backward).
                        HeadProduct.transpose(vHead, sourceStride: v.rowStride, rows: K, columns: d, into: vT)
                        forEachQueryBlock(s) { i0, rows, keys in
                            HeadProduct.block(
                                rows: rows, n: keys, k: d,
                                a: .init(base: dOutHead + i0 * H * d, rowStep: H * d, columnStep: 1),
                                b: vT, ldb: K, c: dP + i0 * K, ldc: K, accumulate: false)
                        }
                        // Through the dropout, then softmax backward: dS = P ⊙ (g - Σ P g) / √d.
                        for i in 0..<T {
                            let visible = s.visibleKeys(i)
                            if let mask { vectorMultiply(dP + i * K, dP + i * K, mask + i * K, visible.upperBound) }
                            Softmax.backwardRow(dP + i * K, P + i * K, visible: visible, keys: K, scale: scale)
                        }
                        biasedQueries(qu, qv, qHead, q.rowStride, relative, n, T, d)
                        // Content term: dQu = dS K; dK += dSᵀ Qu.
                        forEachQueryBlock(s) { i0, rows, keys in
                            HeadProduct.block(
                                rows: rows, n: d, k: keys, a: .init(base: dP + i0 * K, rowStep: K, columnStep: 1),
                                b: kHead, ldb: k.rowStride, c: dQu + i0 * d, ldc: d, accumulate: false)
                        }
                        forEachKeyBlock(s) { j0, rows, i0 in
                            HeadProduct.block(
                                rows: rows, n: d, k: T - i0,
                                a: .init(base: dP + i0 * K + j0, rowStep: 1, columnStep: K),
                                b: qu + i0 * d, ldb: d,
                                c: dk.head(b, n, d) + j0 * dk.rowStride, ldc: dk.rowStride, accumulate: true)
                        }
                        let dqHead = dq.head(b, n, d)
                        if let relative, let dRelative {
                            // Scatter dS to distances, then dQv = dPos R; dR += dPosᵀ Qv (distance p
                            // is seen by queries i ≥ p - M, as key j by i ≥ j - M). Distance p is
                            // column K - 1 - p of dPositional, as in the forward, so that the scatter
                            // is a forward copy; the products read it with negative steps, p
                            // still increasing.
                            dPositional.update(repeating: 0, count: T * K)
                            for i in 0..<T {
                                let visible = s.visibleKeys(i)
                                (dPositional + i * K + (K - 1 - s.memory - i) + visible.lowerBound).update(
                                    from: dP + i * K + visible.lowerBound, count: visible.count)
                            }
                            forEachQueryBlock(s) { i0, rows, keys in
                                HeadProduct.block(
                                    rows: rows, n: d, k: keys,
                                    a: .init(base: dPositional + i0 * K + (K - 1), rowStep: K, columnStep: -1),
                                    b: relative.r + n * d, ldb: H * d, c: dQv + i0 * d, ldc: d, accumulate: false)
                            }
                            forEachKeyBlock(s) { p0, rows, i0 in
                                HeadProduct.block(
                                    rows: rows, n: d, k: T - i0,
                                    a: .init(base: dPositional + i0 * K + (K - 1 - p0), rowStep: -1, columnStep: K),
                                    b: qv + i0 * d, ldb: d,
                                    c: dRelative.r + p0 * H * d + n * d, ldc: H * d, accumulate: true)
                            }
                            let du = dRelative.u + n * d, dv = dRelative.v + n * d
                            for i in 0..<T {
                                let gu = dQu + i * d, gv = dQv + i * d, dqRow = dqHead + i * dq.rowStride
                                for c in 0..<d {
                                    dqRow[c] += gu[c] + gv[c]
                                    du[c] += gu[c]
                                    dv[c] += gv[c]
                                }
                            }
                        } else {
                            for i in 0..<T {
                                let gu = dQu + i * d, dqRow = dqHead + i * dq.rowStride
                                for c in 0..<d { dqRow[c] += gu[c] }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Calls `body(i0, rows, keys)` for blocks of up to `HeadProduct.blockRows` queries starting at i0, where every
    /// key (and distance) any query of the block sees is below `keys`: M + i0 + rows, rounded
    /// up to a multiple of 16 (within K) so the products stay in whole vectors. The extra
    /// keys are masked: their probabilities and score gradients are zero.
    @inline(__always)
    private static func forEachQueryBlock(_ s: AttentionShape, _ body: (Int, Int, Int) -> Void) {
        var i0 = 0
        while i0 < s.queries {
            let rows = Swift.min(HeadProduct.blockRows, s.queries - i0)
            let seen = s.memory + i0 + rows
            body(i0, rows, Swift.min(s.keys, (seen + vectorWidth - 1) / vectorWidth * vectorWidth))
            i0 += HeadProduct.blockRows
        }
    }

    /// Calls `body(j0, rows, firstQuery)` for blocks of up to `HeadProduct.blockRows` keys (or distances) starting
    /// at j0, with the first query that can see any of them: j ≤ M + i, so i ≥ j0 - M.
    @inline(__always)
    private static func forEachKeyBlock(_ s: AttentionShape, _ body: (Int, Int, Int) -> Void) {
        var j0 = 0
        while j0 < s.keys {
            let first = Swift.max(0, j0 - s.memory)
            if first < s.queries { body(j0, Swift.min(HeadProduct.blockRows, s.keys - j0), first) }
            j0 += HeadProduct.blockRows
        }
    }

    /// The generation path (T = 1): one query per (stream, head) over K cached keys, with
    /// dot products instead of GEMM and no allocation (q + u and q + v live on the stack).
    /// Keys are the outer loop and heads the inner one, so each cached row (all heads' k, v
    /// and r side by side) streams through the cache once instead of once per head; threads
    /// split the heads into groups when there is enough work.
    static func forwardSingleQuery(
        out: UnsafeMutablePointer<Float>,
        probabilities: UnsafeMutablePointer<Float>,
        q: HeadRows, k: HeadRows, v: HeadRows,
        relative: RelativeTerms?,
        dropMask: UnsafePointer<Float>?,
        shape s: AttentionShape
    ) {
        let (K, H, d) = (s.keys, s.heads, s.headSize)
        let scale = 1 / Float(d).squareRoot()
        let visible = s.visibleKeys(0)
        // Each (stream, head) costs about 3·K·d multiply-adds; give a thread at least ~30k (a
        // WorkerPool hand-off costs about a microsecond).
        let groups = Swift.max(1, Swift.min(Parallel.threadCount, H, 3 * K * d * H / 30_000))
        Parallel.forEachIndex(s.batch * groups) { task in
            let b = task / groups, group = task % groups
            let heads = (H * group / groups)..<(H * (group + 1) / groups)
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * H * d) { biased in
                let qu = biased.baseAddress!, qv = qu + H * d
                for n in heads {
                    biasedQueries(qu + n * d, qv + n * d, q.head(b, n, d), q.rowStride, relative, n, 1, d)
                }
                let rows = probabilities + b * H * K  // [H, K] for this stream
                let kBase = k.head(b, 0, d), vBase = v.head(b, 0, d)
                for j in visible {
                    let kRow = kBase + j * k.rowStride
                    if let relative {
                        let rRow = relative.r + (s.memory - j) * H * d
                        for n in heads {
                            rows[n * K + j] = vectorDot2(qu + n * d, kRow + n * d, qv + n * d, rRow + n * d, d)
                        }
                    } else {
                        for n in heads { rows[n * K + j] = vectorDot(qu + n * d, kRow + n * d, d) }
                    }
                }
                for n in heads { Softmax.row(rows + n * K, visible: visible, keys: K, scale: scale) }
                let o = out + b * H * d
                (o + heads.lowerBound * d).update(repeating: 0, count: heads.count * d)
                let mask = dropMask.map { $0 + b * H * K }
                for j in visible {
                    let vRow = vBase + j * v.rowStride
                    for n in heads {
                        let p = mask.map { rows[n * K + j] * $0[n * K + j] } ?? rows[n * K + j]
                        vectorAddScaled(o + n * d, p, vRow + n * d, d)
                    }
                }
            }
        }
    }

    /// `qu = q + u` and `qv = q + v` for head `n` ([T, d] each, contiguous); plain copies of q
    /// when there are no relative terms.
    @inline(__always)
    private static func biasedQueries(
        _ qu: UnsafeMutablePointer<Float>, _ qv: UnsafeMutablePointer<Float>,
        _ qHead: UnsafePointer<Float>, _ rowStride: Int,
        _ relative: RelativeTerms?, _ n: Int, _ T: Int, _ d: Int
    ) {
        for i in 0..<T {
            let src = qHead + i * rowStride, a = qu + i * d, b = qv + i * d
            if let relative {
                let u = relative.u + n * d, v = relative.v + n * d
                for c in 0..<d { a[c] = src[c] + u[c]; b[c] = src[c] + v[c] }
            } else {
                a.update(from: src, count: d)
            }
        }
    }
}
