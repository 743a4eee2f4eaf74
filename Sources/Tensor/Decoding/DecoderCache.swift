import TensorKernels

/// The keys and values a batch-1 decoder attends over, per layer, laid out for one query at a
/// time, and the attention of one new query over them. Stored in float32 for a float32 decoder,
/// float16 for float16 and int8 ones, and for an int4 decoder (the smallest footprint) in 8-bit
/// integers with one scale per slot and head: a key's score is its scale times q · k, and a
/// value's probability is multiplied by its scale before the weighted sum.
///
/// Keys are stored transposed per head, `keys[n, c, j]` = component c of key j for head n. With
/// keys as rows, each score q·k_j is a 32-wide dot product ending in a horizontal sum (8 heads
/// x 256 keys of them per layer and token: a quarter of a GPT-2 step); transposed, the scores
/// of 16 keys are one `SIMD16` multiply-add per component of q. Values stay rows, grouped by
/// head, `values[n, j, c]`: the output Σ_j p_j v_j is already a sum of scaled rows, and a head's
/// rows are one contiguous run, which the hardware prefetchers stream (rows [keys, H * d] put
/// each head's few bytes of a slot a whole row apart, and attention waited on those loads). A
/// full window of keys and values is 3 MB in float32 for the `small` GPT-2, read once per
/// token; float16 halves it and 8 bits quarter it, as `DecoderMatrix` does the weights.
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
    /// Whether attention keeps its wide register blocks: scores 128 keys at a time, and four
    /// queries sharing each key and value they read. Their eight to sixteen `SIMD16` sums fit
    /// AVX-512's registers but spill AVX2's, so the default follows `VectorRegisters`; the
    /// narrower ways give the same bits, and the tests set this both ways to compare them.
    var wideBlocks = VectorRegisters.holdSixteenSums
    /// The element type keys and values are stored in.
    private enum Storage {
        case float32, float16, int8

        init(_ precision: DecoderMatrix.Precision) {
            switch precision {
            case .float32: self = .float32
            case .float16, .int8: self = .float16
            case .int4: self = .int8
            }
        }

        var bytes: Int {
            switch self {
            case .float32: return 4
            case .float16: return 2
            case .int8: return 1
            }
        }
    }
    private let storage: Storage
    /// Whether values are stored (not a keys-only cache of position vectors).
    private let hasValues: Bool

    /// Where head `n`'s value of slot `j` starts in a layer's values, in elements: values are
    /// rows grouped by head, `[head, slot, d]`.
    @inline(__always) private func valueIndex(head n: Int, slot j: Int) -> Int { (n * capacity + j) * headSize }
    /// int8 storage: the scale of head n's key and value in slot j, at `n * stride + j` per layer
    /// (empty otherwise).
    private let keyScales: [UnsafeMutablePointer<Float>], valueScales: [UnsafeMutablePointer<Float>]

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
        storage = Storage(precision)
        hasValues = !keysOnly
        let size = storage.bytes
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
        let scaleCount = storage == .int8 ? heads * stride : 0
        func scales(_ count: Int) -> [UnsafeMutablePointer<Float>] {
            (0..<layers).map { _ in
                let p = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
                p.initialize(repeating: 0, count: max(1, count))
                return p
            }
        }
        keyScales = scales(scaleCount)
        valueScales = scales(keysOnly ? 0 : scaleCount)
    }

    deinit { for p in keys + values { p.deallocate() }; for p in keyScales + valueScales { p.deallocate() } }

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
        switch storage {
        case .float32: store(Float.self, l, positions, key, value, rowStride, heads: heads)
        case .float16: store(Float16.self, l, positions, key, value, rowStride, heads: heads)
        case .int8: storeIntegers(l, positions, key, value, rowStride, heads: heads)
        }
    }

    /// `store` in 8-bit integers: each slot's key (and value) of each head rounded to 127 levels of
    /// its largest magnitude (to nearest, ties to even), that magnitude / 127 kept as its scale (a
    /// NaN scale where the row holds a NaN or an infinity, so that what reads it is NaN). Keys go
    /// a block of slots at a time, transposed in registers first as `store` does.
    private func storeIntegers(
        _ l: Int, _ positions: Range<Int>, _ key: UnsafePointer<Float>, _ value: UnsafePointer<Float>?,
        _ rowStride: Int, heads: Range<Int>
    ) {
        let (d, block) = (headSize, 16)
        let elements = heads.lowerBound * d..<heads.upperBound * d
        let k = keys[l].assumingMemoryBound(to: Int8.self), v = values[l].assumingMemoryBound(to: Int8.self)
        if positions.count == 1 {
            // A step's one slot: each key component lands in its own transposed row.
            let position = positions.lowerBound
            for n in heads {
                let (scale, inverse) = Self.integerScale(key + n * d, count: d)
                keyScales[l][n * stride + position] = scale
                for c in 0..<d {
                    k[(n * d + c) * stride + position] = Self.level(key[n * d + c], times: inverse)
                }
                guard let value else { continue }
                let (valueScale, valueInverse) = Self.integerScale(value + n * d, count: d)
                valueScales[l][n * stride + position] = valueScale
                Self.roundToLevels(
                    value + n * d, times: valueInverse, count: d, into: v + valueIndex(head: n, slot: position))
            }
            return
        }
        // The block's keys transposed, then each key's factor ([head of `heads`, slot of the block]).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: block * (elements.count + heads.count)) { scratch in
            guard let transposed = scratch.baseAddress else { return }
            let inverses = transposed + block * elements.count
            for first in Swift.stride(from: positions.lowerBound, to: positions.upperBound, by: block) {
                let slots = first..<Swift.min(first + block, positions.upperBound)
                let rows = key + (first - positions.lowerBound) * rowStride
                for (h, n) in heads.enumerated() {
                    for i in 0..<slots.count {
                        let (scale, inverse) = Self.integerScale(rows + i * rowStride + n * d, count: d)
                        keyScales[l][n * stride + first + i] = scale
                        inverses[h * block + i] = inverse
                    }
                }
                HeadProduct.transpose(
                    rows + elements.lowerBound, sourceStride: rowStride, rows: slots.count, columns: elements.count,
                    into: transposed)
                for index in 0..<elements.count {
                    Self.roundToLevels(
                        transposed + index * slots.count, times: inverses + index / d * block, count: slots.count,
                        into: k + (elements.lowerBound + index) * stride + first)
                }
                guard let value else { continue }
                for i in 0..<slots.count {
                    for n in heads {
                        let row = value + (first - positions.lowerBound + i) * rowStride + n * d
                        let (scale, inverse) = Self.integerScale(row, count: d)
                        valueScales[l][n * stride + first + i] = scale
                        Self.roundToLevels(
                            row, times: inverse, count: d, into: v + valueIndex(head: n, slot: first + i))
                    }
                }
            }
        }
    }

    /// The scale of `count` values stored in 8 bits (their largest magnitude / 127, NaN if any is
    /// not finite) and the factor that takes them to levels (127 / largest; 0 for all zeros or a
    /// NaN scale).
    @inline(__always)
    private static func integerScale(_ x: UnsafePointer<Float>, count: Int) -> (scale: Float, inverse: Float) {
        let largest = largestMagnitude(x, count)
        guard largest.isFinite else { return (.nan, 0) }
        return largest > 0 ? (largest / 127, 127 / largest) : (0, 0)
    }

    /// `out[i]` = x[i] · inverses[i] rounded to the nearest integer, ties to even
    /// (`roundedToIntegers`; within ±127 for the factors `integerScale` gives).
    @inline(__always)
    private static func roundToLevels(
        _ x: UnsafePointer<Float>, times inverses: UnsafePointer<Float>, count: Int,
        into out: UnsafeMutablePointer<Int8>
    ) {
        var i = 0
        while i + 16 <= count {
            let levels = roundedToIntegers(loadVector(x + i) * loadVector(inverses + i))
            UnsafeMutableRawPointer(out + i).storeBytes(
                of: SIMD16<Int8>(truncatingIfNeeded: levels), as: SIMD16<Int8>.self)
            i += 16
        }
        while i < count {
            out[i] = level(x[i], times: inverses[i])
            i += 1
        }
    }

    /// `roundToLevels` with one factor for every value (a slot's value of one head), by the
    /// rounding loop an integer product's inputs take (`cadenza_round_inputs`).
    @inline(__always)
    private static func roundToLevels(
        _ x: UnsafePointer<Float>, times inverse: Float, count: Int, into out: UnsafeMutablePointer<Int8>
    ) {
        _ = cadenza_round_inputs(x, count, inverse, 1, out)
    }

    /// One value of `roundToLevels`, by the same operations.
    @inline(__always)
    private static func level(_ x: Float, times inverse: Float) -> Int8 {
        Int8(truncatingIfNeeded: roundedToInteger(x * inverse))
    }

    /// `store` for the heads `heads` only (their part of each row).
    private func store<S: DecoderFloat>(
        _: S.Type, _ l: Int, _ positions: Range<Int>, _ key: UnsafePointer<Float>, _ value: UnsafePointer<Float>?,
        _ rowStride: Int, heads: Range<Int>
    ) {
        let elements = heads.lowerBound * headSize..<heads.upperBound * headSize
        let block = 16
        let k = keys[l].assumingMemoryBound(to: S.self), v = values[l].assumingMemoryBound(to: S.self)
        // Several slots: each block's keys transposed in registers first (`HeadProduct.transpose`),
        // so that each component's slots are narrowed as one contiguous run (a step's one slot
        // needs no scratch).
        withUnsafeTemporaryAllocation(of: Float.self, capacity: positions.count > 1 ? block * elements.count : 0) {
            scratch in
            for first in Swift.stride(from: positions.lowerBound, to: positions.upperBound, by: block) {
                let slots = first..<Swift.min(first + block, positions.upperBound)
                let rows = key + (first - positions.lowerBound) * rowStride
                if slots.count == 1 {
                    for e in elements { k[e * stride + first] = S(narrowing: rows[e]) }  // e = n * d + c
                } else if let transposed = scratch.baseAddress {
                    HeadProduct.transpose(
                        rows + elements.lowerBound, sourceStride: rowStride, rows: slots.count,
                        columns: elements.count, into: transposed)
                    for (index, e) in elements.enumerated() {
                        let from = transposed + index * slots.count, to = k + e * stride + first
                        for i in 0..<slots.count { to[i] = S(narrowing: from[i]) }
                    }
                }
                guard let value else { continue }
                for position in slots {
                    let row = value + (position - positions.lowerBound) * rowStride
                    for n in heads {
                        let to = v + valueIndex(head: n, slot: position)
                        for c in 0..<headSize { to[c] = S(narrowing: row[n * headSize + c]) }
                    }
                }
            }
        }
    }

    /// Moves the `count` slots from `start` to the front of every layer (a sliding buffer
    /// making room at its end).
    public func moveToFront(from start: Int, count: Int) {
        guard start > 0, count > 0 else { return }
        let size = storage.bytes, width = heads * headSize
        for l in keys.indices {
            for row in 0..<width {
                let base = keys[l] + row * stride * size
                base.copyMemory(from: base + start * size, byteCount: count * size)
            }
            for n in 0..<heads where hasValues {
                let base = values[l] + valueIndex(head: n, slot: 0) * size
                base.copyMemory(
                    from: values[l] + valueIndex(head: n, slot: start) * size, byteCount: count * headSize * size)
            }
            guard storage == .int8 else { continue }
            for n in 0..<heads {
                for scales in hasValues ? [keyScales[l], valueScales[l]] : [keyScales[l]] {
                    (scales + n * stride).update(from: scales + n * stride + start, count: count)
                }
            }
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
    /// holding the probabilities (head n's at n * `capacity` rounded up to 16; times each value's scale for
    /// an int4 decoder's cache).
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
        switch storage {
        case .float32: attend(Float.self, l, key, value, query, slots, relative, out, scores, heads)
        case .float16: attend(Float16.self, l, key, value, query, slots, relative, out, scores, heads)
        case .int8: attend(Int8.self, l, key, value, query, slots, relative, out, scores, heads)
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
        switch storage {
        case .float32: attend(Float.self, l, nil, nil, query, slots, relative, out, scores, heads)
        case .float16: attend(Float16.self, l, nil, nil, query, slots, relative, out, scores, heads)
        case .int8: attend(Int8.self, l, nil, nil, query, slots, relative, out, scores, heads)
        }
    }

    /// Scratch floats `attend` needs.
    public var scoreScratchCount: Int { heads * stride }

    /// int8 storage: head `n`'s key and value scales by slot in layer `l` (nil for float storage,
    /// and for the values of a keys-only cache).
    private func scales(layer l: Int, head n: Int) -> (keys: UnsafePointer<Float>?, values: UnsafePointer<Float>?) {
        guard storage == .int8 else { return (nil, nil) }
        return (UnsafePointer(keyScales[l] + n * stride), hasValues ? UnsafePointer(valueScales[l] + n * stride) : nil)
    }

    /// Queries `attend(layer:queries:…)` scores together, sharing each load of a key or value
    /// (its helpers `headScores4` and `weightedValues4` are written for four).
    private static let queryGroup = 4

    /// Scratch floats `attend(layer:queries:…)` needs.
    public var queriesScratchCount: Int { Self.queryGroup * heads * stride }

    /// `attend(layer:query:slots:…)` for `count` queries at consecutive positions, keys and values
    /// stored already: query i (at `queries + i * queryStride`) attends over the slots
    /// `0..<firstSlots + i`, its output at `out + i * outStride`; for the heads `heads`, on the
    /// calling thread. Each output is the number the one-query call gives (the same sums in the
    /// same order); four queries at a time share each key and value they read, which makes a
    /// context read at once (a GPT-2 window slide) cost multiply-adds rather than loads and
    /// conversions. Without Transformer-XL's relative terms. `scores`: scratch of
    /// `queriesScratchCount` floats.
    public func attend(
        layer l: Int, queries: UnsafePointer<Float>, queryStride: Int, count n: Int, firstSlots: Int,
        out: UnsafeMutablePointer<Float>, outStride: Int, scores: UnsafeMutablePointer<Float>, heads mine: Range<Int>
    ) {
        switch storage {
        case .float32: attend(Float.self, l, queries, queryStride, n, firstSlots, out, outStride, scores, mine)
        case .float16: attend(Float16.self, l, queries, queryStride, n, firstSlots, out, outStride, scores, mine)
        case .int8: attend(Int8.self, l, queries, queryStride, n, firstSlots, out, outStride, scores, mine)
        }
    }

    private func attend<S: DecoderScalar>(
        _: S.Type, _ l: Int, _ queries: UnsafePointer<Float>, _ queryStride: Int, _ n: Int, _ firstSlots: Int,
        _ out: UnsafeMutablePointer<Float>, _ outStride: Int, _ scores: UnsafeMutablePointer<Float>,
        _ mine: Range<Int>
    ) {
        let (d, stride) = (headSize, stride)
        guard n > 0, firstSlots >= 1, firstSlots + n - 1 <= capacity else { return }
        let k = UnsafePointer(keys[l].assumingMemoryBound(to: S.self))
        let v = UnsafePointer(values[l].assumingMemoryBound(to: S.self))
        let scale = 1 / Float(d).squareRoot()
        for head in mine {
            let kT = k + head * d * stride, vHead = v + valueIndex(head: head, slot: 0)
            let (keyScale, valueScale) = scales(layer: l, head: head)
            let rows = scores + Self.queryGroup * head * stride
            /// Softmax of a query's scores over `count` keys, with the keys' and values' scales.
            func probabilities(_ row: UnsafeMutablePointer<Float>, _ count: Int) {
                if let keyScale { vectorMultiply(row, row, keyScale, count) }
                Softmax.row(row, visible: 0..<count, keys: count, scale: scale)
                if let valueScale { vectorMultiply(row, row, valueScale, count) }
            }
            var i = 0
            // Four at a time where the values' sums come in blocks of 32 components and the
            // registers hold the four's sums.
            while wideBlocks, d % 32 == 0, i + 4 <= n {
                let counts = SIMD4<Int>(0, 1, 2, 3) &+ (firstSlots + i)
                let q = queries + i * queryStride + head * d
                Self.headScores4(rows, stride, q, queryStride, kT, stride, counts, d)
                for g in 0..<4 { probabilities(rows + g * stride, counts[g]) }
                Self.weightedValues4(out + i * outStride + head * d, outStride, rows, stride, vHead, counts, d)
                i += 4
            }
            for i in i..<n {
                let count = firstSlots + i
                Self.headScores(rows, queries + i * queryStride + head * d, kT, stride, count, d, wide: wideBlocks)
                probabilities(rows, count)
                Self.weightedValues(out + i * outStride + head * d, rows, vHead, count, d)
            }
        }
    }

    /// `headScores` for four queries (query g at `q + g * qStride`, its scores at
    /// `scores + g * scoreStride`) over `counts[g]` keys, `counts` ascending: each score summed
    /// as `headScores` sums it for that query (one chain below the query's last whole block of
    /// 64 keys, even and odd components after), each key read once for the four where their
    /// ways agree.
    @inline(__always)
    private static func headScores4<S: DecoderScalar>(
        _ scores: UnsafeMutablePointer<Float>, _ scoreStride: Int, _ q: UnsafePointer<Float>, _ qStride: Int,
        _ kT: UnsafePointer<S>, _ stride: Int, _ counts: SIMD4<Int>, _ d: Int
    ) {
        typealias V = SIMD16<Float>
        let (q0, q1, q2, q3) = (q, q + qStride, q + 2 * qStride, q + 3 * qStride)
        let (s0, s1, s2, s3) = (scores, scores + scoreStride, scores + 2 * scoreStride, scores + 3 * scoreStride)
        // One chain per key for every query below the first query's last whole block of 64.
        let chained = counts[0] / 64 * 64
        var j = 0
        while j < chained {
            var a0 = V(), a1 = V(), a2 = V(), a3 = V(), b0 = V(), b1 = V(), b2 = V(), b3 = V()
            var k = kT + j
            for c in 0..<d {
                let first = S.load16(k), second = S.load16(k + 16)
                let (c0, c1, c2, c3) = (
                    V(repeating: q0[c]), V(repeating: q1[c]), V(repeating: q2[c]), V(repeating: q3[c])
                )
                a0.addProduct(c0, first); b0.addProduct(c0, second)
                a1.addProduct(c1, first); b1.addProduct(c1, second)
                a2.addProduct(c2, first); b2.addProduct(c2, second)
                a3.addProduct(c3, first); b3.addProduct(c3, second)
                k += stride
            }
            storeVector(a0, s0 + j); storeVector(b0, s0 + j + 16)
            storeVector(a1, s1 + j); storeVector(b1, s1 + j + 16)
            storeVector(a2, s2 + j); storeVector(b2, s2 + j + 16)
            storeVector(a3, s3 + j); storeVector(b3, s3 + j + 16)
            j += 32
        }
        // Where a later query's whole blocks reach past the first's: each query its own way.
        let paired = counts[3] / 64 * 64
        while j < paired {
            for g in 0..<4 {
                let score = scores + g * scoreStride + j, query = q + g * qStride
                if j < counts[g] / 64 * 64 {
                    var a = V()
                    var k = kT + j
                    for c in 0..<d {
                        a.addProduct(V(repeating: query[c]), S.load16(k))
                        k += stride
                    }
                    storeVector(a, score)
                } else {
                    storeVector(scaledRowSum(query, count: d, rows: kT + j, rowStride: stride), score)
                }
            }
            j += 16
        }
        // Even and odd components for every query (a query's blocks past its own keys are
        // computed and ignored, as `headScores` does within a block).
        while j < counts[3] {
            var e0 = V(), e1 = V(), e2 = V(), e3 = V(), o0 = V(), o1 = V(), o2 = V(), o3 = V()
            var k = kT + j, c = 0
            while c + 2 <= d {
                let even = S.load16(k), odd = S.load16(k + stride)
                e0.addProduct(V(repeating: q0[c]), even); o0.addProduct(V(repeating: q0[c + 1]), odd)
                e1.addProduct(V(repeating: q1[c]), even); o1.addProduct(V(repeating: q1[c + 1]), odd)
                e2.addProduct(V(repeating: q2[c]), even); o2.addProduct(V(repeating: q2[c + 1]), odd)
                e3.addProduct(V(repeating: q3[c]), even); o3.addProduct(V(repeating: q3[c + 1]), odd)
                c += 2
                k += 2 * stride
            }
            if c < d {
                let even = S.load16(k)
                e0.addProduct(V(repeating: q0[c]), even); e1.addProduct(V(repeating: q1[c]), even)
                e2.addProduct(V(repeating: q2[c]), even); e3.addProduct(V(repeating: q3[c]), even)
            }
            storeVector(e0 + o0, s0 + j); storeVector(e1 + o1, s1 + j)
            storeVector(e2 + o2, s2 + j); storeVector(e3 + o3, s3 + j)
            j += 16
        }
    }

    /// `weightedValues` for four queries (probabilities at `p + g * pStride`, `counts[g]` of
    /// them, ascending; output at `out + g * outStride`), d a multiple of 32: the four share
    /// each pair of value rows while all have them, then each finishes its own pairs and its
    /// odd last key, in `scaledRowSums`' order.
    @inline(__always)
    private static func weightedValues4<S: DecoderScalar>(
        _ out: UnsafeMutablePointer<Float>, _ outStride: Int, _ p: UnsafePointer<Float>, _ pStride: Int,
        _ v: UnsafePointer<S>, _ counts: SIMD4<Int>, _ d: Int
    ) {
        typealias V = SIMD16<Float>
        let (p0, p1, p2, p3) = (p, p + pStride, p + 2 * pStride, p + 3 * pStride)
        let shared = counts[0] / 2 * 2
        var c0 = 0
        while c0 + 32 <= d {
            // Per query: even and odd keys' sums for components c0..<c0 + 16 and c0 + 16..<c0 + 32.
            var e = (V(), V(), V(), V(), V(), V(), V(), V()), o = (V(), V(), V(), V(), V(), V(), V(), V())
            var i = 0, row = v + c0
            while i < shared {
                let next = row + d
                let (a, b, c, dd) = (S.load16(row), S.load16(row + 16), S.load16(next), S.load16(next + 16))
                var x = V(repeating: p0[i]), y = V(repeating: p0[i + 1])
                e.0.addProduct(x, a); e.1.addProduct(x, b); o.0.addProduct(y, c); o.1.addProduct(y, dd)
                x = V(repeating: p1[i]); y = V(repeating: p1[i + 1])
                e.2.addProduct(x, a); e.3.addProduct(x, b); o.2.addProduct(y, c); o.3.addProduct(y, dd)
                x = V(repeating: p2[i]); y = V(repeating: p2[i + 1])
                e.4.addProduct(x, a); e.5.addProduct(x, b); o.4.addProduct(y, c); o.5.addProduct(y, dd)
                x = V(repeating: p3[i]); y = V(repeating: p3[i + 1])
                e.6.addProduct(x, a); e.7.addProduct(x, b); o.6.addProduct(y, c); o.7.addProduct(y, dd)
                i += 2
                row += 2 * d
            }
            // Each query's own remaining pairs and odd last key.
            func finish(_ g: Int, _ sums: (V, V, V, V)) {
                var (even0, odd0, even1, odd1) = sums
                let coefficients = p + g * pStride
                var i = shared, row = v + c0 + shared * d
                while i + 2 <= counts[g] {
                    let x = V(repeating: coefficients[i]), y = V(repeating: coefficients[i + 1])
                    let next = row + d
                    even0.addProduct(x, S.load16(row)); even1.addProduct(x, S.load16(row + 16))
                    odd0.addProduct(y, S.load16(next)); odd1.addProduct(y, S.load16(next + 16))
                    i += 2
                    row += 2 * d
                }
                if i < counts[g] {
                    let x = V(repeating: coefficients[i])
                    even0.addProduct(x, S.load16(row)); even1.addProduct(x, S.load16(row + 16))
                }
                storeVector(even0 + odd0, out + g * outStride + c0)
                storeVector(even1 + odd1, out + g * outStride + c0 + 16)
            }
            finish(0, (e.0, o.0, e.1, o.1))
            finish(1, (e.2, o.2, e.3, o.3))
            finish(2, (e.4, o.4, e.5, o.5))
            finish(3, (e.6, o.6, e.7, o.7))
            c0 += 32
        }
    }

    /// Stores `key` and `value` at the last slot first, unless they are nil (stored already).
    private func attend<S: DecoderScalar>(
        _: S.Type, _ l: Int, _ key: UnsafePointer<Float>?, _ value: UnsafePointer<Float>?,
        _ query: UnsafePointer<Float>, _ slots: Range<Int>, _ relative: Relative?,
        _ out: UnsafeMutablePointer<Float>, _ scores: UnsafeMutablePointer<Float>, _ mine: Range<Int>
    ) {
        let (H, d, stride, count) = (heads, headSize, stride, slots.count)
        guard count > 0, slots.lowerBound >= 0, slots.upperBound <= capacity else { return }
        let k = UnsafePointer(keys[l].assumingMemoryBound(to: S.self)) + slots.lowerBound
        let v = UnsafePointer(values[l].assumingMemoryBound(to: S.self))
        let r = relative.map {
            (UnsafePointer($0.positions.keys[l].assumingMemoryBound(to: S.self)), $0.positions.stride)
        }
        guard !mine.isEmpty else { return }
        let scale = 1 / Float(d).squareRoot()
        if let key {
            store(
                layer: l, positions: (slots.upperBound - 1)..<slots.upperBound, keys: key, values: value,
                rowStride: H * d, heads: mine)
        }
        // Per thread: q + u, q + v, and the position scores by distance.
        withUnsafeTemporaryAllocation(
            of: Float.self, capacity: relative == nil ? 0 : 2 * d + (count + 15) / 16 * 16
        ) { scratch in
            for n in mine {
                let row = scores + n * stride, q = query + n * d
                let (keyScale, valueScale) = scales(layer: l, head: n)
                if let relative, let (rT, rStride) = r {
                    let qu = scratch.baseAddress!, qv = qu + d, byDistance = qv + d
                    for c in 0..<d {
                        qu[c] = q[c] + relative.contentBias[n * d + c]
                        qv[c] = q[c] + relative.positionBias[n * d + c]
                    }
                    Self.headScores(row, qu, k + n * d * stride, stride, count, d, wide: wideBlocks)
                    if let keyScale { vectorMultiply(row, row, keyScale + slots.lowerBound, count) }
                    Self.headScores(byDistance, qv, rT + n * d * rStride, rStride, count, d, wide: wideBlocks)
                    if let positionScale = relative.positions.scales(layer: l, head: n).keys {
                        vectorMultiply(byDistance, byDistance, positionScale, count)
                    }
                    // Key j is at distance count - 1 - j from the query.
                    for j in 0..<count { row[j] += byDistance[count - 1 - j] }
                } else {
                    Self.headScores(row, q, k + n * d * stride, stride, count, d, wide: wideBlocks)
                    if let keyScale { vectorMultiply(row, row, keyScale + slots.lowerBound, count) }
                }
                Softmax.row(row, visible: 0..<count, keys: count, scale: scale)
                if let valueScale { vectorMultiply(row, row, valueScale + slots.lowerBound, count) }
                Self.weightedValues(out + n * d, row, v + valueIndex(head: n, slot: slots.lowerBound), count, d)
            }
        }
    }

    /// `scores[j] = q · k_j` for j in 0..<count (rounded up to 16). Keys below the last whole
    /// block of 64 are each summed over q's components in one chain, 128 (`wide`) or 64 keys at
    /// a time (eight or four independent chains); the rest in blocks of 16 by `scaledRowSum`, two
    /// blocks at a time where there are two. Blocks share no sums, so how many run together
    /// changes no score.
    @inline(__always)
    private static func headScores<S: DecoderScalar>(
        _ scores: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>,
        _ kT: UnsafePointer<S>, _ stride: Int, _ count: Int, _ d: Int, wide: Bool
    ) {
        typealias V = SIMD16<Float>
        var j = 0
        while wide && j + 128 <= count {
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

    /// `out[0..<d] = Σ_j p[j] v_j`, v_j the d values at `v + j * d` (a head's rows, one run):
    /// each 16 components summed over the keys by `scaledRowSum`, 32 components at a time where
    /// there are 32.
    @inline(__always)
    private static func weightedValues<S: DecoderScalar>(
        _ out: UnsafeMutablePointer<Float>, _ p: UnsafePointer<Float>,
        _ v: UnsafePointer<S>, _ count: Int, _ d: Int
    ) {
        guard d % 16 == 0 else {
            out.update(repeating: 0, count: d)
            for j in 0..<count { for c in 0..<d { out[c].addProduct(p[j], S.widen(v[j * d + c])) } }
            return
        }
        var c0 = 0
        while c0 + 32 <= d {
            let (first, second) = scaledRowSums(p, count: count, rows: v + c0, rowStride: d)
            storeVector(first, out + c0); storeVector(second, out + c0 + 16)
            c0 += 32
        }
        if c0 < d { storeVector(scaledRowSum(p, count: count, rows: v + c0, rowStride: d), out + c0) }
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
