import TensorKernels

/// A weight matrix laid out for batch-1 decoding: [outputs, inputs] rows, each output a dot
/// product along one contiguous row, stored in float32, float16 or 8-bit integers.
///
/// Generating one token multiplies one activation vector by every weight matrix of the model:
/// each weight is read once and used for one multiply-add, so a step runs as fast as the
/// weights stream from cache. Float16 storage halves those bytes; the products still multiply
/// and add in float32 (`vcvtph2ps` widens 16 weights per instruction), so the only change is the
/// weights' rounding to 11 significant bits (relative error at most 2⁻¹¹; none at all for a
/// model whose weights were stored as float16, like the bundled one).
///
/// Where measured, float16 is bound by that widening, not by the bytes (docs/tensor-kernels.md).
/// `int8` goes further on both counts: each row is stored as 8-bit integers times one scale
/// per row (its largest magnitude / 127), the input vector is rounded to 16-bit integers times
/// one scale (its largest magnitude / 32767), and the sums are exact integer sums of 32
/// products per instruction (AVX-512 VNNI `vpdpwssd`, or AVX2's `vpmaddwd` at 16, in the
/// `TensorKernels` C target):
/// a quarter of float32's bytes and more weights per second than float16 on one core
/// (figures: docs/tensor-kernels.md and docs/benchmarks.md, from `cadenza-bench decoder`; the
/// kernel alone: Benchmarks/decoder-dot-kernels.c).
/// The input's rounding is below float16's (2⁻¹⁶ of the largest input against 2⁻¹¹ of each);
/// the weights' is coarser: up to 1/254 of the row's largest weight.
public final class DecoderMatrix {
    /// How the weights are stored.
    public enum Precision: String, Sendable, CaseIterable, Codable {
        /// float32: the weights exactly as trained.
        case float32
        /// float16: half the bytes to read per token; weights rounded to float16.
        case float16
        /// int8: a quarter of the bytes; each row's weights rounded to 255 levels of its
        /// largest magnitude, the input to 65,535 levels of its own (see the type's notes).
        case int8
        /// int4: an eighth of the bytes; each row's weights rounded to the 16 odd multiples
        /// (±1, ±3, ... ±15) of its largest magnitude / 15, the input to 255 levels of its own.
        /// Faster than int8 with AVX-512 VNNI or AVX2 (docs/benchmarks.md), at a cost in NLL
        /// that depends on the model (docs/generation.md): a model's default only where that cost
        /// was measured as negligible (Generation's `DecoderChoice`), else chosen by hand. A
        /// decoder in int4 keeps its cached keys and values in 8 bits too (`DecoderCache`).
        case int4

        /// Whether a decoder's cached keys and values are float32 (float16 for float16 and int8,
        /// 8-bit integers for int4: `DecoderCache`).
        public var cachesFloat32: Bool { self == .float32 }

        /// Whether the weights are integers with a scale per row (int8, int4), products of
        /// which are exact integer sums: the same for one vector or many.
        public var isInteger: Bool { self == .int8 || self == .int4 }

        /// Whether int8 and int4 products run the AVX-512 VNNI kernels on this CPU.
        public static var int8UsesVNNI: Bool { cadenza_int8_rows_use_vnni() != 0 }

        /// Whether they run the AVX2 kernels instead (a CPU with AVX2 but not AVX-512 VNNI).
        public static var int8UsesAVX2: Bool { !int8UsesVNNI && cadenza_cpu_has_avx2() != 0 }

        /// The fastest precision on the CPU this runs on: int8 where its products run a vector
        /// kernel (AVX-512 VNNI or AVX2), else float16 (int8's plain-loop fallback would not be
        /// faster). Every path gives the same numbers, so the same seed makes the same music on
        /// every CPU that picks int8.
        public static let fastest: Precision = int8UsesVNNI || int8UsesAVX2 ? .int8 : .float16

        /// Bits per stored weight (int8 and int4 add one float scale per row).
        var bitsPerWeight: Int {
            switch self {
            case .float32: 32
            case .float16: 16
            case .int8: 8
            case .int4: 4
            }
        }

        /// What the weights' rows are padded to: int8's `vpdpwssd` takes 32 weights, int4's
        /// panels take groups of 8 (`cadenza_int4_rows`).
        var rowMultiple: Int {
            switch self {
            case .float32, .float16: 1
            case .int8: 32
            case .int4: 8
            }
        }

        /// What the number of rows is padded to in storage: int4's panels hold 16 rows.
        var panelRows: Int { self == .int4 ? 16 : 1 }
    }

    /// Rows: outputs of the product.
    public let outputs: Int
    /// Columns: length of the input vector.
    public let inputs: Int
    /// The storage precision.
    public let precision: Precision
    private let storage: UnsafeMutableRawPointer
    /// int8 and int4: weights between rows (`inputs` rounded up to `rowMultiple`, zero-padded),
    /// and each row's scale (its weights are `scales[j] * Int8`, or `scales[j] * (2u - 15)` for
    /// a nibble u). float32/float16: `inputs` and unused.
    private let stride: Int
    private let scales: UnsafeMutablePointer<Float>

    /// Below this many weights one thread streams the matrix; above it the rows are split
    /// over the `WorkerPool` (a hand-off costs about a microsecond, 16k weights' worth).
    static let parallelThreshold = 1 << 15

    /// The matrix `weight` [outputs, inputs] as stored (`transposed` false, PyTorch's
    /// `nn.Linear` layout) or `weight` [inputs, outputs] (`transposed` true, Hugging Face's
    /// `Conv1D` layout), converted to `precision`.
    public init(_ weight: UnsafePointer<Float>, outputs: Int, inputs: Int, transposed: Bool, precision: Precision) {
        self.outputs = outputs
        self.inputs = inputs
        self.precision = precision
        let count = outputs * inputs
        // A transposed weight is first transposed whole, in cache-sized bands: read a column at a
        // time, every element was a cache miss.
        let rows: UnsafePointer<Float>
        var transposedCopy: UnsafeMutablePointer<Float>?
        if transposed {
            let copy = UnsafeMutablePointer<Float>.allocate(capacity: max(1, count))
            HeadProduct.transpose(weight, sourceStride: outputs, rows: inputs, columns: outputs, into: copy)
            (rows, transposedCopy) = (UnsafePointer(copy), copy)
        } else {
            rows = weight
        }
        defer { transposedCopy?.deallocate() }
        func element(_ j: Int, _ p: Int) -> Float { rows[j * inputs + p] }
        // Integer rows: each row's scale is its largest magnitude / `levels`; `body` rounds the
        // row's weights given `levels / largest` (a row of zeros keeps scale 0 and zero weights).
        func roundRows(levels: Float, _ body: (_ j: Int, _ inverse: Float) -> Void) {
            for j in 0..<outputs {
                var largest: Float = 0
                for p in 0..<inputs { largest = max(largest, abs(element(j, p))) }
                scales[j] = largest / levels
                if largest > 0 { body(j, levels / largest) }
            }
        }
        // 64-byte aligned (a cache line): rows of 256 or 1024 weights then start on a line,
        // and no 16-weight load straddles two lines.
        let multiple = precision.rowMultiple
        stride = (inputs + multiple - 1) / multiple * multiple
        scales = .allocate(capacity: precision.isInteger ? max(1, outputs) : 1)
        storage = UnsafeMutableRawPointer.allocate(
            byteCount: max(1, Self.storedRows(outputs, precision) * stride * precision.bitsPerWeight / 8),
            alignment: 64)
        switch precision {
        case .float32:
            let values = storage.bindMemory(to: Float.self, capacity: count)
            for j in 0..<outputs { for p in 0..<inputs { values[j * inputs + p] = element(j, p) } }
        case .float16:
            let values = storage.bindMemory(to: Float16.self, capacity: count)
            for j in 0..<outputs { for p in 0..<inputs { values[j * inputs + p] = Float16(element(j, p)) } }
        case .int8:
            let values = storage.bindMemory(to: Int8.self, capacity: outputs * stride)
            values.initialize(repeating: 0, count: outputs * stride)
            roundRows(levels: 127) { j, inverse in
                for p in 0..<inputs {
                    values[j * stride + p] = Int8(max(-127, min(127, (element(j, p) * inverse).rounded())))
                }
            }
        case .int4:
            // Levels (2u - 15) * scale for u in 0...15: the odd multiples of largest / 15, so the
            // largest weight is a level and no level is spent on zero (measured: 15 levels with
            // one at zero cost several times more NLL). Stored in panels of 16 rows, the layout
            // `cadenza_int4_rows` describes.
            let byteCount = Self.storedRows(outputs, .int4) * stride / 2
            let bytes = storage.bindMemory(to: UInt8.self, capacity: byteCount)
            bytes.initialize(repeating: 0, count: byteCount)
            roundRows(levels: 15) { j, inverse in
                for p in 0..<inputs {
                    // The odd level nearest to the weight, 2u - 15.
                    let u = max(0, min(15, ((element(j, p) * inverse + 15) / 2).rounded(.toNearestOrEven)))
                    let byte = cadenza_int4_byte(stride, j, p)
                    bytes[byte] |= UInt8(u) << (p % 8 < 4 ? 0 : 4)
                }
            }
        }
    }

    deinit {
        storage.deallocate()
        scales.deallocate()
    }

    /// Rows as stored: `outputs` rounded up to whole panels.
    private static func storedRows(_ outputs: Int, _ precision: Precision) -> Int {
        (outputs + precision.panelRows - 1) / precision.panelRows * precision.panelRows
    }

    /// Bytes of weights read per product (int8 and int4: the row scales included).
    public var byteCount: Int {
        Self.storedRows(outputs, precision) * stride * precision.bitsPerWeight / 8
            + (precision.isInteger ? outputs * MemoryLayout<Float>.size : 0)
    }

    /// What is done with each output after the product, by the thread that computed it (so a
    /// decoder step needs no separate serial pass for it).
    public enum Epilogue: Sendable {
        /// y = W x + b.
        case store
        /// y = gelu(W x + b) (GELU, tanh approximation, as `GELU.forward`).
        case gelu
        /// y += W x + b: the residual connection.
        case accumulate
    }

    /// `y[j] = bias[j] + Σ_p W[j, p] x[p]` (`bias` nil: no bias), then `epilogue`. Each y[j]
    /// is summed by one thread in the same order whatever the thread count.
    public func multiply(
        _ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        epilogue: Epilogue = .store, threads: Int = Parallel.threadCount
    ) {
        let tasks = threads > 1 && outputs * inputs >= Self.parallelThreshold ? min(threads, (outputs + 3) / 4) : 1
        // The input is rounded to integers once, here, for every task to share.
        withRoundedInput(x) { rounded in
            WorkerPool.shared.run(tasks: tasks) { task in
                let team = Team(member: task, size: tasks, barrier: nil)
                multiply(x, rounded, bias, y, epilogue, rows: team.share(of: outputs, granularity: 4))
            }
        }
    }

    /// Rows `rows` of `multiply` (their y[j] only), on the calling thread: one member's part of
    /// a product in a `Team`, whose members each take `Team.share(of: outputs, granularity: 4)`.
    /// Each y[j] is the number `multiply` computes.
    public func multiply(
        _ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        epilogue: Epilogue = .store, rows: Range<Int>
    ) {
        multiply(x, bias: bias, into: y, epilogue: epilogue, rowRanges: RowRanges(rows))
    }

    /// `multiply(_:bias:into:epilogue:rows:)` for several ranges of rows, the input rounded
    /// once for all of them (a member's q, k and v rows of its heads).
    public func multiply(
        _ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        epilogue: Epilogue = .store, rowRanges: RowRanges
    ) {
        withRoundedInput(x) { rounded in
            for block in 0..<rowRanges.blocks { multiply(x, rounded, bias, y, epilogue, rows: rowRanges[block]) }
        }
    }

    /// `multiply(_:bias:into:epilogue:rowRanges:)` for `count` input vectors, vector i at
    /// `x + i * inputStride` and its outputs at `y + i * outputStride`: each output is the number
    /// the one-vector product gives for that vector, so reading a context this way equals
    /// reading its tokens one at a time. int8 copies 16 rows at a time into a panel that serves
    /// every vector (`cadenza_int8_rows_many`), and int4 unpacks each weight once for four vectors
    /// (`cadenza_int4_rows_many`), which makes a context of many tokens cost multiply-adds
    /// rather than weight traffic; float32 and float16 run the one-vector product per vector.
    public func multiply(
        _ x: UnsafePointer<Float>, vectors count: Int, inputStride: Int, bias: UnsafePointer<Float>?,
        into y: UnsafeMutablePointer<Float>, outputStride: Int, epilogue: Epilogue = .store,
        rowRanges: RowRanges
    ) {
        guard count > 0 else { return }
        guard precision.isInteger, count > 1 else {
            for i in 0..<count {
                multiply(
                    x + i * inputStride, bias: bias, into: y + i * outputStride, epilogue: epilogue,
                    rowRanges: rowRanges)
            }
            return
        }
        let rounded = RoundedInputs(capacity: count, for: self)
        round(x, vectors: 0..<count, inputStride: inputStride, into: rounded)
        multiply(
            rounded, vectors: count, bias: bias, into: y, outputStride: outputStride, epilogue: epilogue,
            rowRanges: rowRanges)
    }

    /// Input vectors rounded to integers for an integer matrix's products, kept so that they
    /// can be rounded once and multiplied by many rows: a team reading many tokens has each
    /// member round its share of the vectors (`round(_:vectors:inputStride:into:)`), meets, and
    /// then each multiplies every vector by its own rows
    /// (`multiply(_:vectors:bias:into:outputStride:epilogue:rowRanges:)`). They serve any matrix
    /// of the same precision and number of inputs.
    public final class RoundedInputs {
        /// The most vectors held.
        public let capacity: Int
        /// What the vectors were rounded for: the matrices' precision and row stride.
        let precision: Precision, stride: Int
        /// Vector i's integers at `integers + i * stride * (bytes per integer)`, its scale and
        /// the integers' sum.
        let integers: UnsafeMutableRawPointer
        let scales: UnsafeMutablePointer<Float>, sums: UnsafeMutablePointer<Int32>

        /// Room for `capacity` vectors rounded for `matrix` (an int8 or int4 one).
        public init(capacity: Int, for matrix: DecoderMatrix) {
            precondition(matrix.precision.isInteger, "only integer products round their inputs")
            self.capacity = capacity
            (precision, stride) = (matrix.precision, matrix.stride)
            integers = .allocate(byteCount: max(1, capacity * stride * matrix.inputBytes), alignment: 64)
            scales = .allocate(capacity: max(1, capacity))
            sums = .allocate(capacity: max(1, capacity))
        }

        deinit {
            integers.deallocate()
            scales.deallocate()
            sums.deallocate()
        }
    }

    /// Rounds the input vectors `vectors` (vector i at `x + i * inputStride`) into `rounded`,
    /// each as `multiply` rounds it.
    public func round(_ x: UnsafePointer<Float>, vectors: Range<Int>, inputStride: Int, into rounded: RoundedInputs) {
        precondition(
            rounded.precision == precision && rounded.stride == stride && vectors.upperBound <= rounded.capacity,
            "inputs rounded for another matrix")
        for i in vectors {
            (rounded.scales[i], rounded.sums[i]) = roundInput(
                x + i * inputStride, into: rounded.integers + i * stride * inputBytes)
        }
    }

    /// `multiply(_:vectors:inputStride:bias:into:outputStride:epilogue:rowRanges:)` for the first
    /// `count` vectors of `rounded`, rounded already (`round`): each output the same number.
    public func multiply(
        _ rounded: RoundedInputs, vectors count: Int, bias: UnsafePointer<Float>?, into y: UnsafeMutablePointer<Float>,
        outputStride: Int, epilogue: Epilogue = .store, rowRanges: RowRanges
    ) {
        precondition(
            rounded.precision == precision && rounded.stride == stride && count <= rounded.capacity,
            "inputs rounded for another matrix")
        let accumulate: Int32 = epilogue == .accumulate ? 1 : 0
        for block in 0..<rowRanges.blocks {
            let rows = rowRanges[block]
            if rows.isEmpty { continue }
            if precision == .int8 {
                cadenza_int8_rows_many(
                    rounded.integers.assumingMemoryBound(to: Int16.self), stride, rounded.scales, count,
                    storage.assumingMemoryBound(to: Int8.self), stride, rows.lowerBound, rows.upperBound, scales,
                    bias, accumulate, y, outputStride)
            } else {
                cadenza_int4_rows_many(
                    rounded.integers.assumingMemoryBound(to: Int8.self), stride, rounded.sums, rounded.scales, count,
                    storage.assumingMemoryBound(to: UInt8.self), stride, rows.lowerBound, rows.upperBound, scales,
                    bias, accumulate, y, outputStride)
            }
            if epilogue == .gelu {
                for i in 0..<count {
                    let out = y + i * outputStride + rows.lowerBound
                    GELU.forward(out: out, input: out, count: rows.count)
                }
            }
        }
    }

    /// An input vector rounded to integers (int8: 16-bit, int4: 8-bit, `stride` of them) times
    /// one `scale`, and the integers' `sum` (int4's kernel needs it).
    private struct RoundedInput {
        let integers: UnsafeRawPointer, scale: Float, sum: Int32
    }

    /// Bytes per integer of a rounded input.
    private var inputBytes: Int { precision == .int8 ? 2 : 1 }

    /// Calls `body` with `x` rounded for an integer precision, or nil.
    private func withRoundedInput(_ x: UnsafePointer<Float>, _ body: (RoundedInput?) -> Void) {
        guard precision.isInteger else { return body(nil) }
        withUnsafeTemporaryAllocation(byteCount: stride * inputBytes, alignment: 64) { buffer in
            guard let integers = buffer.baseAddress else { return }
            let (scale, sum) = roundInput(x, into: integers)
            body(RoundedInput(integers: integers, scale: scale, sum: sum))
        }
    }

    /// Rows `rows` of the product, with the input also `rounded` for int8 and int4.
    private func multiply(
        _ x: UnsafePointer<Float>, _ rounded: RoundedInput?,
        _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>, _ epilogue: Epilogue, rows: Range<Int>
    ) {
        let (first, last) = (rows.lowerBound, rows.upperBound)
        guard first < last else { return }
        let accumulate: Int32 = epilogue == .accumulate ? 1 : 0
        switch precision {
        case .int8:
            // The kernel scales the sums, adds the bias and accumulates into y itself.
            guard let rounded else { return }
            cadenza_int8_rows(
                rounded.integers.assumingMemoryBound(to: Int16.self), storage.assumingMemoryBound(to: Int8.self),
                stride, first, last, scales, rounded.scale, bias, accumulate, y)
        case .int4:
            guard let rounded else { return }
            cadenza_int4_rows(
                rounded.integers.assumingMemoryBound(to: Int8.self), rounded.sum,
                storage.assumingMemoryBound(to: UInt8.self), stride, first, last, scales, rounded.scale, bias,
                accumulate, y)
        case .float32, .float16:
            // Accumulating: the product goes to scratch first, then is added to y.
            withUnsafeTemporaryAllocation(of: Float.self, capacity: epilogue == .accumulate ? last - first : 0) {
                scratch in
                let target = epilogue == .accumulate ? scratch.baseAddress! - first : y
                if precision == .float32 {
                    dotRows(x, storage.assumingMemoryBound(to: Float.self), rows, bias, target)
                } else {
                    dotRows(x, storage.assumingMemoryBound(to: Float16.self), rows, bias, target)
                }
                if epilogue == .accumulate { for j in rows { y[j] += target[j] } }
            }
        }
        if epilogue == .gelu { GELU.forward(out: y + first, input: y + first, count: last - first) }
    }

    /// The largest integer the input is rounded to. int8: 32767 (16 bits), or less where a row is
    /// so long that a 32-bit lane (stride / 16 products of at most 127 x level) could overflow.
    /// int4: 127 (8 bits), or less where a row's dot product (at most 15 x level per weight)
    /// could pass 2^31.
    private var inputLevels: Float {
        precision == .int8
            ? Float(min(32767, Int(Int32.max) / (127 * max(1, stride / 16))))
            : Float(min(127, Int(Int32.max) / (15 * max(1, stride))))
    }

    /// Writes `x` as integers `rounded[p] = round(x[p] / scale)` (to nearest, ties to even;
    /// zero past `inputs`, up to `stride`; Int16 for int8, Int8 for int4) and returns `scale` =
    /// max |x| / `inputLevels` (0 when x is all zeros, NaN when x holds a NaN or an infinity, so
    /// that the product is NaN as the float paths' would be rather than a plausible number) and
    /// the integers' sum.
    private func roundInput(_ x: UnsafePointer<Float>, into rounded: UnsafeMutableRawPointer) -> (Float, Int32) {
        let largest = largestMagnitude(x, inputs)
        guard largest.isFinite, largest > 0 else {
            rounded.initializeMemory(as: UInt8.self, repeating: 0, count: stride * inputBytes)
            return (largest.isFinite ? 0 : .nan, 0)
        }
        (rounded + inputs * inputBytes).initializeMemory(
            as: UInt8.self, repeating: 0, count: (stride - inputs) * inputBytes)
        let levels = inputLevels
        // |x * inverse| <= levels, far inside the 2^22 the rounding holds for.
        let sum = cadenza_round_inputs(x, inputs, levels / largest, precision == .int4 ? 1 : 0, rounded)
        return (largest / levels, sum)
    }

    /// Rows `rows` of the product, four at a time sharing each load of x; each 16 weights are
    /// read as float32 (float16 widened by `vcvtph2ps`) and multiply-added in float32. (Not
    /// eight rows: more concurrent streams than the prefetchers follow, measured slower in
    /// docs/tensor-kernels.md.)
    private func dotRows<S: DecoderScalar>(
        _ x: UnsafePointer<Float>, _ w: UnsafePointer<S>, _ rows: Range<Int>,
        _ bias: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>
    ) {
        typealias V = SIMD16<Float>
        let k = inputs, vectorEnd = k & ~15, last = rows.upperBound - 1
        var j = rows.lowerBound
        while j <= last {
            // Past the end of the range the last row repeats (computed, not stored).
            let r0 = w + j * k, r1 = w + min(j + 1, last) * k, r2 = w + min(j + 2, last) * k,
                r3 = w + min(j + 3, last) * k
            var a0 = V(), a1 = V(), a2 = V(), a3 = V()
            var p = 0
            while p < vectorEnd {
                let xv = UnsafeRawPointer(x + p).loadUnaligned(as: V.self)
                a0.addProduct(xv, S.load16(r0 + p)); a1.addProduct(xv, S.load16(r1 + p))
                a2.addProduct(xv, S.load16(r2 + p)); a3.addProduct(xv, S.load16(r3 + p))
                p += 16
            }
            var sums = sum4(a0, a1, a2, a3)
            while p < k {
                sums.addProduct(
                    SIMD4(repeating: x[p]), SIMD4(S.widen(r0[p]), S.widen(r1[p]), S.widen(r2[p]), S.widen(r3[p])))
                p += 1
            }
            for q in 0..<min(4, last + 1 - j) { y[j + q] = sums[q] + (bias?[j + q] ?? 0) }
            j += 4
        }
    }
}

/// The four sums of `a0`...`a3`, by a tree that adds the four vectors' halves together
/// (20 shuffles and adds instead of 32 for four separate horizontal sums).
@inline(__always)
private func sum4(_ a0: SIMD16<Float>, _ a1: SIMD16<Float>, _ a2: SIMD16<Float>, _ a3: SIMD16<Float>) -> SIMD4<Float> {
    let s0 = a0.lowHalf + a0.highHalf, s1 = a1.lowHalf + a1.highHalf
    let s2 = a2.lowHalf + a2.highHalf, s3 = a3.lowHalf + a3.highHalf
    let t01 = SIMD8(lowHalf: s0.lowHalf, highHalf: s1.lowHalf) + SIMD8(lowHalf: s0.highHalf, highHalf: s1.highHalf)
    let t23 = SIMD8(lowHalf: s2.lowHalf, highHalf: s3.lowHalf) + SIMD8(lowHalf: s2.highHalf, highHalf: s3.highHalf)
    // t01 = row 0's four partial sums, then row 1's; t23 likewise for rows 2 and 3.
    let u = SIMD8(lowHalf: t01.evenHalf, highHalf: t23.evenHalf) + SIMD8(lowHalf: t01.oddHalf, highHalf: t23.oddHalf)
    return u.evenHalf + u.oddHalf
}
