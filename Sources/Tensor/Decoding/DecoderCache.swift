/// The keys and values a batch-1 decoder attends over, per layer, laid out for one query at a
/// time and stored in float32 or float16 (float16 for int8 decoders too), and the attention of one new query over them.
///
/// Keys are stored transposed per head, `keys[n, c, j]` = component c of key j for head n. With
/// keys as rows, each score q·k_j is a 32-wide dot product ending in a horizontal sum (8 heads
/// x 256 keys of them per layer and token: a quarter of a GPT-2 step); transposed, the scores
/// of 16 keys are one `SIMD16` multiply-add per component of q. Values stay rows [keys, H * d]:
/// the output Σ_j p_j v_j is already a sum of scaled rows. A full window of keys and values is
/// 3 MB in float32 for the `small` GPT-2, read once per token; float16 halves it, like the
/// weights in `DecoderMatrix`.
///
/// Transformer-XL attends with relative positions too (`Relative`): its projected position
/// vectors live in a keys-only `DecoderCache` indexed by distance, scored the same way.
public final class DecoderCache {
    /// Heads per layer (H) and their width (d).
    public let heads: Int, headSize: Int
    /// The most positions (slots) held; key storage is padded to `stride`.
    public let capacity: Int
    /// How keys and values are stored.
    public let precision: DecoderMatrix.Precision
    /// Slots between a component's keys, `capacity` rounded up to 16 so that the last block
    /// of scores can read 16 keys (extra scores are computed and ignored).
    private let stride: Int
    private let keys: [UnsafeMutableRawPointer], values: [UnsafeMutableRawPointer]

    /// An empty cache of `layers` layers (`keysOnly`: no value storage, for position vectors).
    public init(
        layers: Int, heads: Int, headSize: Int, capacity: Int, precision: DecoderMatrix.Precision,
        keysOnly: Bool = false
    ) {
        self.heads = heads
        self.headSize = headSize
        self.capacity = capacity
        self.precision = precision
        stride = (capacity + 15) / 16 * 16
        let size = precision.cachesFloat32 ? 4 : 2
        let (keyBytes, valueBytes) = (
            heads * headSize * stride * size, keysOnly ? 0 : capacity * heads * headSize * size
        )
        keys = (0..<layers).map { _ in
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(64, keyBytes), alignment: 64)
            p.initializeMemory(as: UInt8.self, repeating: 0, count: max(64, keyBytes))
            return p
        }
        values = (0..<layers).map { _ in UnsafeMutableRawPointer.allocate(byteCount: max(64, valueBytes), alignment: 64)
        }
    }

    deinit { for p in keys + values { p.deallocate() } }

    /// Stores the keys and values of the slots `positions` in layer `layer`: rows
    /// `keys[i * rowStride ..< + H * d]` (and `values`, unless nil) for slot positions[i].
    /// Keys are written a block of slots at a time, so that they land in consecutive slots of
    /// each transposed row rather than one slot per cache line.
    /// `heads`: only those heads' part of each row (a team member's; default all).
    public func store(
        layer l: Int, positions: Range<Int>, keys key: UnsafePointer<Float>, values value: UnsafePointer<Float>?,
        rowStride: Int, heads: Range<Int>? = nil
    ) {
        let heads = heads ?? 0..<self.heads
        if precision.cachesFloat32 {
            store(Float.self, l, positions, key, value, rowStride, heads: heads)
        } else {
            store(Float16.self, l, positions, key, value, rowStride, heads: heads)
        }
    }

    /// `store` for the heads `heads` only (their part of each row).
    private func store<S: DecoderScalar>(
        _: S.Type, _ l: Int, _ positions: Range<Int>, _ key: UnsafePointer<Float>, _ value: UnsafePointer<Float>?,
        _ rowStride: Int, heads: Range<Int>
    ) {
        let (width, elements) = (self.heads * headSize, heads.lowerBound * headSize..<heads.upperBound * headSize)
        let block = 16
        let k = keys[l].assumingMemoryBound(to: S.self), v = values[l].assumingMemoryBound(to: S.self)
        for first in Swift.stride(from: positions.lowerBound, to: positions.upperBound, by: block) {
            let slots = first..<Swift.min(first + block, positions.upperBound)
            for e in elements {  // e = n * d + c
                for position in slots {
                    k[e * stride + position] = S(narrowing: key[(position - positions.lowerBound) * rowStride + e])
                }
            }
            guard let value else { continue }
            for position in slots {
                let row = value + (position - positions.lowerBound) * rowStride
                for e in elements { v[position * width + e] = S(narrowing: row[e]) }
            }
        }
    }

    /// Moves the `count` slots from `start` to the front of every layer (a sliding buffer
    /// making room at its end).
    public func moveToFront(from start: Int, count: Int) {
        guard start > 0, count > 0 else { return }
        let size = precision.cachesFloat32 ? 4 : 2, width = heads * headSize
        for l in keys.indices {
            for row in 0..<width {
                let base = keys[l] + row * stride * size
                base.copyMemory(from: base + start * size, byteCount: count * size)
            }
            values[l].copyMemory(from: values[l] + start * width * size, byteCount: count * width * size)
        }
    }

    /// Transformer-XL's relative-position terms for `attend`: content score (q + u)·k_j plus
    /// position score (q + v)·r_p, where p is key j's distance from the query and r_p is slot p
    /// of `positions` (spec, "Forward pass", the paper's terms (a)+(c) and (b)+(d)).
    public struct Relative {
        /// Projected position vectors by distance, in the same layout and layers.
        public var positions: DecoderCache
        /// u (`r_w_bias`) and v (`r_r_bias`), [H * d] each.
        public var contentBias: UnsafePointer<Float>, positionBias: UnsafePointer<Float>

        /// The terms for one model.
        public init(positions: DecoderCache, contentBias: UnsafePointer<Float>, positionBias: UnsafePointer<Float>) {
            self.positions = positions
            self.contentBias = contentBias
            self.positionBias = positionBias
        }
    }

    /// Stores the key and value of slot `slots.upperBound - 1` ([H * d] each), then computes
    /// `out[n * d ..< (n + 1) * d] = softmax(scores_n / sqrt(d)) V_n` for every head n over the
    /// keys in `slots` of layer `layer` (the last slot is the query's own position), each thread
    /// storing the heads it attends with. Scores are q_n · k_j, or with `relative` Transformer-
    /// XL's content plus position terms. `scores`: scratch of `scoreScratchCount` floats, left
    /// holding the probabilities (head n's at n * `capacity` rounded up to 16).
    public func append(
        layer l: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
        thenAttend query: UnsafePointer<Float>, slots: Range<Int>, relative: Relative? = nil,
        out: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>
    ) {
        let (H, d) = (heads, headSize)
        // Each head costs about 2·count·d multiply-adds (3 with positions); a hand-off about a
        // microsecond.
        let tasks = Swift.max(1, Swift.min(Parallel.threadCount, H, 2 * slots.count * d * H / 30_000))
        WorkerPool.shared.run(tasks: tasks) { task in
            append(
                layer: l, key: key, value: value, thenAttend: query, slots: slots, relative: relative, out: out,
                scores: scores, heads: Team(member: task, size: tasks, barrier: nil).share(of: H))
        }
    }

    /// `append` for the heads `heads` only (their part of the key, value and output), on the
    /// calling thread: one member's part in a `Team`, whose members each take
    /// `Team.share(of: heads)`.
    public func append(
        layer l: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>,
        thenAttend query: UnsafePointer<Float>, slots: Range<Int>, relative: Relative? = nil,
        out: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, heads: Range<Int>
    ) {
        if precision.cachesFloat32 {
            attend(Float.self, l, key, value, query, slots, relative, out, scores, heads)
        } else {
            attend(Float16.self, l, key, value, query, slots, relative, out, scores, heads)
        }
    }

    /// `append` for keys and values already stored (`store`) up to slot `slots.upperBound - 1`:
    /// the same attention of `query` over `slots`, for the heads `heads`, on the calling thread.
    /// A context read by a team stores its tokens' keys and values in blocks of slots, then
    /// attends token by token.
    public func attend(
        layer l: Int, query: UnsafePointer<Float>, slots: Range<Int>, relative: Relative? = nil,
        out: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, heads: Range<Int>
    ) {
        if precision.cachesFloat32 {
            attend(Float.self, l, nil, nil, query, slots, relative, out, scores, heads)
        } else {
            attend(Float16.self, l, nil, nil, query, slots, relative, out, scores, heads)
        }
    }

    /// Scratch floats `attend` needs.
    public var scoreScratchCount: Int { heads * stride }

    /// Stores `key` and `value` at the last slot first, unless they are nil (stored already).
    private func attend<S: DecoderScalar>(
        _: S.Type, _ l: Int, _ key: UnsafePointer<Float>?, _ value: UnsafePointer<Float>?,
        _ query: UnsafePointer<Float>, _ slots: Range<Int>, _ relative: Relative?,
        _ out: UnsafeMutablePointer<Float>, _ scores: UnsafeMutablePointer<Float>, _ mine: Range<Int>
    ) {
        let (H, d, stride, count) = (heads, headSize, stride, slots.count)
        guard count > 0, slots.lowerBound >= 0, slots.upperBound <= capacity else { return }
        let k = UnsafePointer(keys[l].assumingMemoryBound(to: S.self)) + slots.lowerBound
        let v = UnsafePointer(values[l].assumingMemoryBound(to: S.self)) + slots.lowerBound * H * d
        let r = relative.map {
            (UnsafePointer($0.positions.keys[l].assumingMemoryBound(to: S.self)), $0.positions.stride)
        }
        guard !mine.isEmpty else { return }
        let scale = 1 / Float(d).squareRoot()
        if let key { store(S.self, l, (slots.upperBound - 1)..<slots.upperBound, key, value, H * d, heads: mine) }
        // Per thread: q + u, q + v, and the position scores by distance.
        withUnsafeTemporaryAllocation(
            of: Float.self, capacity: relative == nil ? 0 : 2 * d + (count + 15) / 16 * 16
        ) { scratch in
            for n in mine {
                let row = scores + n * stride, q = query + n * d
                if let relative, let (rT, rStride) = r {
                    let qu = scratch.baseAddress!, qv = qu + d, byDistance = qv + d
                    for c in 0..<d {
                        qu[c] = q[c] + relative.contentBias[n * d + c]
                        qv[c] = q[c] + relative.positionBias[n * d + c]
                    }
                    Self.headScores(row, qu, k + n * d * stride, stride, count, d)
                    Self.headScores(byDistance, qv, rT + n * d * rStride, rStride, count, d)
                    // Key j is at distance count - 1 - j from the query.
                    for j in 0..<count { row[j] += byDistance[count - 1 - j] }
                } else {
                    Self.headScores(row, q, k + n * d * stride, stride, count, d)
                }
                Softmax.row(row, visible: 0..<count, keys: count, scale: scale)
                Self.weightedValues(out + n * d, row, v + n * d, H * d, count, d)
            }
        }
    }

    /// `scores[j] = q · k_j` for j in 0..<count (rounded up to 16). Keys below the last whole
    /// block of 64 are each summed over q's components in one chain, 128 or 64 keys at a time
    /// (eight or four independent chains); the rest in blocks of 16 by `scaledRowSum`, two
    /// blocks at a time where there are two. Blocks share no sums, so how many run together
    /// changes no score.
    @inline(__always)
    private static func headScores<S: DecoderScalar>(
        _ scores: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>,
        _ kT: UnsafePointer<S>, _ stride: Int, _ count: Int, _ d: Int
    ) {
        typealias V = SIMD16<Float>
        var j = 0
        while j + 128 <= count {
            var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
            var k = kT + j
            for c in 0..<d {
                let qc = V(repeating: q[c])
                a0.addProduct(qc, S.load16(k)); a1.addProduct(qc, S.load16(k + 16))
                a2.addProduct(qc, S.load16(k + 32)); a3.addProduct(qc, S.load16(k + 48))
                a4.addProduct(qc, S.load16(k + 64)); a5.addProduct(qc, S.load16(k + 80))
                a6.addProduct(qc, S.load16(k + 96)); a7.addProduct(qc, S.load16(k + 112))
                k += stride
            }
            storeVector(a0, scores + j); storeVector(a1, scores + j + 16); storeVector(a2, scores + j + 32)
            storeVector(a3, scores + j + 48); storeVector(a4, scores + j + 64); storeVector(a5, scores + j + 80)
            storeVector(a6, scores + j + 96); storeVector(a7, scores + j + 112)
            j += 128
        }
        while j + 64 <= count {
            var a0 = V(), a1 = V(), a2 = V(), a3 = V()
            var k = kT + j
            for c in 0..<d {
                let qc = V(repeating: q[c])
                a0.addProduct(qc, S.load16(k)); a1.addProduct(qc, S.load16(k + 16))
                a2.addProduct(qc, S.load16(k + 32)); a3.addProduct(qc, S.load16(k + 48))
                k += stride
            }
            storeVector(a0, scores + j); storeVector(a1, scores + j + 16)
            storeVector(a2, scores + j + 32); storeVector(a3, scores + j + 48)
            j += 64
        }
        while j + 16 < count {
            let (first, second) = scaledRowSums(q, count: d, rows: kT + j, rowStride: stride)
            storeVector(first, scores + j); storeVector(second, scores + j + 16)
            j += 32
        }
        if j < count { storeVector(scaledRowSum(q, count: d, rows: kT + j, rowStride: stride), scores + j) }
    }

    /// `out[0..<d] = Σ_j p[j] v_j`: each 16 components summed over the keys by `scaledRowSum`,
    /// 32 components at a time where there are 32.
    @inline(__always)
    private static func weightedValues<S: DecoderScalar>(
        _ out: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>,
        _ v: UnsafePointer<S>, _ rowStride: Int, _ count: Int, _ d: Int
    ) {
        guard d % 16 == 0 else {
            out.update(repeating: 0, count: d)
            for j in 0..<count { for c in 0..<d { out[c].addProduct(p[j], S.widen(v[j * rowStride + c])) } }
            return
        }
        var c0 = 0
        while c0 + 32 <= d {
            let (first, second) = scaledRowSums(p, count: count, rows: v + c0, rowStride: rowStride)
            storeVector(first, out + c0); storeVector(second, out + c0 + 16)
            c0 += 32
        }
        if c0 < d { storeVector(scaledRowSum(p, count: count, rows: v + c0, rowStride: rowStride), out + c0) }
    }

    /// `Σ_i coefficients[i] · rows[i * rowStride ..< +16]`, terms in pairs into two sums (two
    /// independent multiply-add chains) added at the end: a 16-key block of scores (q's
    /// components times rows of transposed keys) or 16 components of Σ_j p_j v_j.
    @inline(__always)
    private static func scaledRowSum<S: DecoderScalar>(
        _ coefficients: UnsafePointer<Float>, count: Int,
        rows: UnsafePointer<S>, rowStride: Int
    ) -> SIMD16<Float> {
        typealias V = SIMD16<Float>
        var even = V(), odd = V()
        var i = 0, row = rows
        while i + 2 <= count {
            even.addProduct(V(repeating: coefficients[i]), S.load16(row))
            odd.addProduct(V(repeating: coefficients[i + 1]), S.load16(row + rowStride))
            i += 2
            row += 2 * rowStride
        }
        if i < count { even.addProduct(V(repeating: coefficients[i]), S.load16(row)) }
        return even + odd
    }

    /// `scaledRowSum` at `rows` and at `rows + 16` together: each the same sums in the same
    /// order, four chains in flight instead of two (one chain's multiply-adds wait on each other).
    @inline(__always)
    private static func scaledRowSums<S: DecoderScalar>(
        _ coefficients: UnsafePointer<Float>, count: Int,
        rows: UnsafePointer<S>, rowStride: Int
    ) -> (SIMD16<Float>, SIMD16<Float>) {
        typealias V = SIMD16<Float>
        var even0 = V(), odd0 = V(), even1 = V(), odd1 = V()
        var i = 0, row = rows
        while i + 2 <= count {
            let c0 = V(repeating: coefficients[i]), c1 = V(repeating: coefficients[i + 1])
            let next = row + rowStride
            even0.addProduct(c0, S.load16(row)); even1.addProduct(c0, S.load16(row + 16))
            odd0.addProduct(c1, S.load16(next)); odd1.addProduct(c1, S.load16(next + 16))
            i += 2
            row += 2 * rowStride
        }
        if i < count {
            let c0 = V(repeating: coefficients[i])
            even0.addProduct(c0, S.load16(row)); even1.addProduct(c0, S.load16(row + 16))
        }
        return (even0 + odd0, even1 + odd1)
    }
}
