import Foundation
import Tensor

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

    @inline(__always) func head(_ b: Int, _ n: Int, _ d: Int) -> UnsafeMutablePointer<Float> {
        base + b * batchStride + n * d
    }
}

/// The sizes of one attention call: B streams, T queries, M memory rows before them
/// (K = M + T keys), H heads of width d.
public struct AttentionShape: Equatable {
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

    /// The keys query `i` sees: causal with M rows of memory, narrowed by `window`.
    @inline(__always) func visibleKeys(_ i: Int) -> Range<Int> {
        let last = memory + i
        let first = window.map { max(0, last - $0 + 1) } ?? 0
        return first..<(last + 1)
    }
}

/// Transformer-XL's relative-position terms (spec, "Forward pass", the paper's (b) and (d)):
/// `r` holds the projected position vectors indexed by distance (row p = `W_r` applied to the
/// sinusoid of distance p, clamped), shared by all streams; `u` and `v` are the [H, d] biases
/// (`r_w_bias`, `r_r_bias`).
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
/// `((q_i + u) . k_j + (q_i + v) . r_{M+i-j}) / sqrt(d)` with u = v = 0 and no r term for GPT-2.
/// The position term is computed for every distance with one GEMM and then read at distance
/// M + i - j: the reference's "relative shift", done by indexing.
public enum Attention {
    /// Writes `out` [B, T, H * d] and saves the softmax probabilities `probabilities`
    /// [B, H, T, K] (before dropout). `dropMask` [B, H, T, K], when given, holds 0 or 1/(1-p)
    /// and multiplies the probabilities before they weight the values.
    public static func forward(
        out: UnsafeMutablePointer<Float>,
        probabilities: UnsafeMutablePointer<Float>,
        q: HeadRows, k: HeadRows, v: HeadRows,
        relative: RelativeTerms?,
        dropMask: UnsafePointer<Float>?,
        shape s: AttentionShape
    ) {
        let (T, K, H, d) = (s.queries, s.keys, s.heads, s.headSize)
        let scale = 1 / Float(d).squareRoot()
        Parallel.forEachIndex(s.batch * H) { item in
            let b = item / H, n = item % H
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * T * d + 2 * T * K)
            defer { scratch.deallocate() }
            let qu = scratch, qv = scratch + T * d, positional = scratch + 2 * T * d, dropped = positional + T * K
            let P = probabilities + (b * H + n) * T * K
            let qHead = q.head(b, n, d), kHead = k.head(b, n, d), vHead = v.head(b, n, d)
            biasedQueries(qu, qv, qHead, q.rowStride, relative, n, T, d)
            // Content term: (q + u) k^T -> P [T, K].
            GEMM.multiply(m: T, n: K, k: d, a: qu, lda: d, b: kHead, ldb: k.rowStride, transposeB: true,
                          c: P, ldc: K)
            if let relative {
                // Position term for every distance p in 0..<K: (q + v) r_p -> [T, K].
                GEMM.multiply(m: T, n: K, k: d, a: qv, lda: d, b: relative.r + n * d, ldb: H * d,
                              transposeB: true, c: positional, ldc: K)
            }
            for i in 0..<T {
                let row = P + i * K
                let visible = s.visibleKeys(i)
                var maximum = -Float.infinity
                for j in visible {
                    var score = row[j]
                    if relative != nil { score += positional[i * K + s.memory + i - j] }
                    score *= scale
                    row[j] = score
                    maximum = max(maximum, score)
                }
                var sum: Float = 0
                for j in visible {
                    let e = expf(row[j] - maximum)
                    row[j] = e
                    sum += e
                }
                let inverse = 1 / sum
                for j in 0..<K { row[j] = visible.contains(j) ? row[j] * inverse : 0 }
            }
            let weights = dropMask.map { applyDropout(dropped, P, $0 + (b * H + n) * T * K, T * K) } ?? P
            // out_head [T, d] = P V, written into the [B, T, H*d] output.
            GEMM.multiply(m: T, n: d, k: K, a: weights, lda: K, b: vHead, ldb: v.rowStride,
                          c: out + b * T * H * d + n * d, ldc: H * d)
        }
    }

    /// Adds the gradients of `forward` into `dq`, `dk`, `dv` (same strided layouts as q, k, v)
    /// and, for Transformer-XL, into `dRelative`. `probabilities` and `dropMask` are what the
    /// forward saved and used.
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
        let scale = 1 / Float(d).squareRoot()
        // One thread per head: the position gradients of a head are shared by all streams.
        Parallel.forEachIndex(H) { n in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 4 * T * d + 3 * T * K)
            defer { scratch.deallocate() }
            let qu = scratch, qv = scratch + T * d, dQu = scratch + 2 * T * d, dQv = scratch + 3 * T * d
            let dP = scratch + 4 * T * d, dPositional = dP + T * K, dropped = dPositional + T * K
            for b in 0..<s.batch {
                let P = probabilities + (b * H + n) * T * K
                let qHead = q.head(b, n, d), kHead = k.head(b, n, d), vHead = v.head(b, n, d)
                let dOutHead = dOut + b * T * H * d + n * d
                let mask = dropMask.map { $0 + (b * H + n) * T * K }
                let weights = mask.map { UnsafePointer(applyDropout(dropped, P, $0, T * K)) } ?? P
                // dV += weights^T dOut; dWeights = dOut V^T.
                GEMM.multiply(m: K, n: d, k: T, a: weights, lda: K, transposeA: true, b: dOutHead, ldb: H * d,
                              c: dv.head(b, n, d), ldc: dv.rowStride, beta: 1)
                GEMM.multiply(m: T, n: K, k: d, a: dOutHead, lda: H * d, b: vHead, ldb: v.rowStride,
                              transposeB: true, c: dP, ldc: K)
                // Through the dropout, then softmax backward: dS = P * (g - sum(P * g)), scaled.
                if let mask { for x in 0..<(T * K) { dP[x] *= mask[x] } }
                for i in 0..<T {
                    let row = P + i * K, dRow = dP + i * K
                    let visible = s.visibleKeys(i)
                    var dot: Float = 0
                    for j in visible { dot += row[j] * dRow[j] }
                    for j in 0..<K {
                        dRow[j] = visible.contains(j) ? row[j] * (dRow[j] - dot) * scale : 0
                    }
                }
                biasedQueries(qu, qv, qHead, q.rowStride, relative, n, T, d)
                // Content term: dQu = dS K; dK += dS^T Qu.
                GEMM.multiply(m: T, n: d, k: K, a: dP, lda: K, b: kHead, ldb: k.rowStride, c: dQu, ldc: d)
                GEMM.multiply(m: K, n: d, k: T, a: dP, lda: K, transposeA: true, b: qu, ldb: d,
                              c: dk.head(b, n, d), ldc: dk.rowStride, beta: 1)
                let dqHead = dq.head(b, n, d)
                if let relative, let dRelative {
                    // Scatter dS to distances, then dQv = dPos R; dR += dPos^T Qv.
                    dPositional.update(repeating: 0, count: T * K)
                    for i in 0..<T {
                        for j in s.visibleKeys(i) { dPositional[i * K + s.memory + i - j] = dP[i * K + j] }
                    }
                    GEMM.multiply(m: T, n: d, k: K, a: dPositional, lda: K, b: relative.r + n * d, ldb: H * d,
                                  c: dQv, ldc: d)
                    GEMM.multiply(m: K, n: d, k: T, a: dPositional, lda: K, transposeA: true, b: qv, ldb: d,
                                  c: dRelative.r + n * d, ldc: H * d, beta: 1)
                    for i in 0..<T {
                        for c in 0..<d {
                            let gu = dQu[i * d + c], gv = dQv[i * d + c]
                            dqHead[i * dq.rowStride + c] += gu + gv
                            dRelative.u[n * d + c] += gu
                            dRelative.v[n * d + c] += gv
                        }
                    }
                } else {
                    for i in 0..<T {
                        for c in 0..<d { dqHead[i * dq.rowStride + c] += dQu[i * d + c] }
                    }
                }
            }
        }
    }

    /// `dropped = probabilities * mask` over `count` elements; returns `dropped`.
    @inline(__always)
    private static func applyDropout(_ dropped: UnsafeMutablePointer<Float>, _ probabilities: UnsafePointer<Float>,
                                     _ mask: UnsafePointer<Float>, _ count: Int) -> UnsafeMutablePointer<Float> {
        for x in 0..<count { dropped[x] = probabilities[x] * mask[x] }
        return dropped
    }

    /// `qu = q + u` and `qv = q + v` for head `n` ([T, d] each, contiguous); plain copies of q
    /// when there are no relative terms.
    @inline(__always)
    private static func biasedQueries(_ qu: UnsafeMutablePointer<Float>, _ qv: UnsafeMutablePointer<Float>,
                                      _ qHead: UnsafePointer<Float>, _ rowStride: Int,
                                      _ relative: RelativeTerms?, _ n: Int, _ T: Int, _ d: Int) {
        for i in 0..<T {
            for c in 0..<d {
                let x = qHead[i * rowStride + c]
                qu[i * d + c] = x + (relative?.u[n * d + c] ?? 0)
                qv[i * d + c] = x + (relative?.v[n * d + c] ?? 0)
            }
        }
    }
}
