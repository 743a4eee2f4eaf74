import TensorKernels

/// The pure-Swift GEMM backend (see docs/tensor-gemm.md for the design and measurements).
///
/// Blocked as in BLIS/GotoBLAS, with the loops (outer to inner):
/// columns in `nc`-wide blocks → K in `kc`-deep slices (B block packed into `nr`-wide panels,
/// 512 KiB, held in L2) → rows in `mr`-high micro-panels (A read in place when stored
/// row-major, else packed; 6 KiB, held in L1) →
/// B panels → the 6x32 micro-kernel, which keeps a 6x32 tile of C in twelve `SIMD16<Float>`
/// registers and does 12 `vfmadd231ps zmm` per step of k (built with `-target-cpu native`).
/// Packing absorbs the transposes, so one micro-kernel serves all four combinations, and
/// zero-pads the edges, so odd sizes only need a scratch tile at the border. A row-major A is
/// read in place, not packed: on attention-sized products packing it cost as much as the
/// arithmetic (measured: docs/tensor-gemm.md).
///
/// Threads split C into disjoint row (or column) ranges; each element of C is summed by one
/// thread in the same order (k slices of 256, in order) whatever the thread count, so results
/// do not depend on it. Products with m = 1 or n = 1 (batch-1 generation) take the
/// matrix-vector path, which streams the matrix once without packing.
enum SwiftGEMM {
    /// Rows of the micro-kernel's C tile.
    static let mr = 6
    /// Columns of the micro-kernel's C tile (two `SIMD16<Float>`).
    static let nr = 32
    /// Depth of one K slice: a packed A micro-panel is `mr * kc * 4` bytes = 6 KiB (L1).
    static let kc = 256
    /// Width of one packed B block: `kc * nc * 4` bytes = 512 KiB (half of L2).
    static let nc = 512
    /// Products below this many multiply-adds run on one thread: handing half to the other
    /// core costs about a microsecond (`WorkerPool`), a few hundred thousand multiply-adds.
    static let parallelThreshold = 1 << 18
    /// A transposed A is read in place (not packed) when at most this many B panels reuse it:
    /// its six values per step of k sit in one cache line of a different row each, which costs
    /// less than packing when few panels reuse them and more when many do (measured:
    /// docs/tensor-gemm.md).
    static let transposedInPlaceMaximumPanels = 4

    static func run(_ op: GEMMOperands, threads: Int) {
        if op.k == 0 {
            scaleC(op)
        } else if op.m == 1 || op.n == 1 {
            MatrixVector.run(op, threads: threads)
        } else {
            blocked(op, threads: threads)
        }
    }

    /// C = beta * C (the whole product when k = 0); with beta = 0, C is zeroed without reading it.
    private static func scaleC(_ op: GEMMOperands) {
        for i in 0..<op.m {
            let row = op.c + i * op.ldc
            if op.beta == 0 {
                row.update(repeating: 0, count: op.n)
            } else {
                for j in 0..<op.n { row[j] *= op.beta }
            }
        }
    }

    // MARK: blocked product

    private static func blocked(_ op: GEMMOperands, threads: Int) {
        let rowPanels = (op.m + mr - 1) / mr, columnPanels = (op.n + nr - 1) / nr
        let work = op.m * op.n * op.k
        let splitRows = rowPanels >= columnPanels
        let panels = splitRows ? rowPanels : columnPanels
        let tasks = (threads > 1 && work >= parallelThreshold) ? min(threads, panels) : 1
        if tasks == 1 {
            tile(op, rows: 0..<op.m, columns: 0..<op.n)
            return
        }
        let panelsPerTask = (panels + tasks - 1) / tasks
        WorkerPool.shared.run(tasks: tasks) { task in
            let first = task * panelsPerTask, last = min(panels, first + panelsPerTask)
            guard first < last else { return }
            if splitRows {
                tile(op, rows: first * mr..<min(op.m, last * mr), columns: 0..<op.n)
            } else {
                tile(op, rows: 0..<op.m, columns: first * nr..<min(op.n, last * nr))
            }
        }
    }

    /// Computes the block `rows x columns` of C on the calling thread.
    private static func tile(_ op: GEMMOperands, rows: Range<Int>, columns: Range<Int>) {
        let workspace = Workspace.pool.take()
        defer { Workspace.pool.give(workspace) }
        let packedA = workspace.packedA, packedB = workspace.packedB, scratch = workspace.scratch
        for j0 in stride(from: columns.lowerBound, to: columns.upperBound, by: nc) {
            let width = min(nc, columns.upperBound - j0)
            let bPanels = (width + nr - 1) / nr
            for p0 in stride(from: 0, to: op.k, by: kc) {
                let depth = min(kc, op.k - p0)
                packB(op, p0: p0, depth: depth, j0: j0, width: width, into: packedB)
                // Later K slices add to what the first one stored.
                let beta: Float = p0 == 0 ? op.beta : 1
                for i0 in stride(from: rows.lowerBound, to: rows.upperBound, by: mr) {
                    let height = min(mr, rows.upperBound - i0)
                    // A stored row-major is read in place (six row streams, the micro-panel
                    // stays in L1 across the B panels); transposed A and border panels are
                    // packed, the latter zero-padded.
                    let readsADirectly = !op.transposeA && height == mr
                    let transposedInPlace =
                        op.transposeA && height == mr
                        && bPanels <= transposedInPlaceMaximumPanels
                    if !readsADirectly && !transposedInPlace {
                        packA(op, i0: i0, height: height, p0: p0, depth: depth, into: packedA)
                    }
                    let aPanel =
                        readsADirectly
                        ? op.a + i0 * op.lda + p0
                        : transposedInPlace ? op.a + p0 * op.lda + i0 : UnsafePointer(packedA)
                    for panel in 0..<bPanels {
                        let j = j0 + panel * nr
                        let panelWidth = min(nr, j0 + width - j)
                        let bPanel = UnsafePointer(packedB + panel * depth * nr)
                        let cTile = op.c + i0 * op.ldc + j
                        if transposedInPlace && panelWidth == nr {
                            microKernelTransposedA(
                                depth: depth, a: aPanel, lda: op.lda, b: bPanel,
                                c: cTile, ldc: op.ldc, alpha: op.alpha, beta: beta)
                        } else if readsADirectly && panelWidth == nr {
                            microKernelRowMajorA(
                                depth: depth, a: aPanel, lda: op.lda, b: bPanel,
                                c: cTile, ldc: op.ldc, alpha: op.alpha, beta: beta)
                        } else if height == mr && panelWidth == nr {
                            microKernel(
                                depth: depth, a: aPanel, b: bPanel, c: cTile, ldc: op.ldc,
                                alpha: op.alpha, beta: beta)
                        } else if readsADirectly {
                            microKernelRowMajorA(
                                depth: depth, a: aPanel, lda: op.lda, b: bPanel,
                                c: scratch, ldc: nr, alpha: 1, beta: 0)
                            writeBorder()
                        } else if transposedInPlace {
                            microKernelTransposedA(
                                depth: depth, a: aPanel, lda: op.lda, b: bPanel,
                                c: scratch, ldc: nr, alpha: 1, beta: 0)
                            writeBorder()
                        } else {
                            microKernel(
                                depth: depth, a: aPanel, b: bPanel, c: scratch, ldc: nr,
                                alpha: 1, beta: 0)
                            writeBorder()
                        }
                        func writeBorder() {
                            for r in 0..<height {
                                let source = scratch + r * nr, target = cTile + r * op.ldc
                                for col in 0..<panelWidth {
                                    let product = op.alpha * source[col]
                                    target[col] = beta == 0 ? product : product + beta * target[col]
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Packs op(B)[p0 ..< p0+depth, j0 ..< j0+width] into `nr`-wide panels, each `depth` rows
    /// of `nr` contiguous floats, zero-padded past `width`.
    private static func packB(
        _ op: GEMMOperands, p0: Int, depth: Int, j0: Int, width: Int,
        into packed: UnsafeMutablePointer<Float>
    ) {
        var panelStart = 0
        var target = packed
        while panelStart < width {
            let columns = min(nr, width - panelStart)
            let j = j0 + panelStart
            if !op.transposeB {
                // op(B)(p, j) = b[p * ldb + j]: each row of the panel is a contiguous run.
                for p in 0..<depth {
                    let source = op.b + (p0 + p) * op.ldb + j
                    let row = target + p * nr
                    if columns == nr {
                        UnsafeMutableRawPointer(row).storeBytes(
                            of: UnsafeRawPointer(source).loadUnaligned(as: SIMD16<Float>.self),
                            as: SIMD16<Float>.self)
                        UnsafeMutableRawPointer(row + 16).storeBytes(
                            of: UnsafeRawPointer(source + 16).loadUnaligned(as: SIMD16<Float>.self),
                            as: SIMD16<Float>.self)
                    } else {
                        row.update(from: source, count: columns)
                        (row + columns).update(repeating: 0, count: nr - columns)
                    }
                }
            } else {
                // op(B)(p, j) = b[j * ldb + p]: each column of the panel is a contiguous run.
                for col in 0..<columns {
                    let source = op.b + (j + col) * op.ldb + p0
                    for p in 0..<depth { target[p * nr + col] = source[p] }
                }
                if columns < nr {
                    for p in 0..<depth { (target + p * nr + columns).update(repeating: 0, count: nr - columns) }
                }
            }
            panelStart += nr
            target += depth * nr
        }
    }

    /// Packs op(A)[i0 ..< i0+height, p0 ..< p0+depth] as `depth` groups of `mr` floats
    /// (one column of the micro-panel each), zero-padded past `height`.
    private static func packA(
        _ op: GEMMOperands, i0: Int, height: Int, p0: Int, depth: Int,
        into packed: UnsafeMutablePointer<Float>
    ) {
        if height < mr { packed.update(repeating: 0, count: depth * mr) }
        if !op.transposeA {
            // op(A)(i, p) = a[i * lda + p]
            for r in 0..<height {
                let source = op.a + (i0 + r) * op.lda + p0
                for p in 0..<depth { packed[p * mr + r] = source[p] }
            }
        } else if height == 6 && mr == 6 {
            // A whole panel (all but the last): each group is six adjacent floats, copied as four
            // and two (a loop over a height not known here copies them one by one).
            for p in 0..<depth {
                let source = UnsafeRawPointer(op.a + (p0 + p) * op.lda + i0)
                let target = UnsafeMutableRawPointer(packed + p * mr)
                target.storeBytes(of: source.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
                target.storeBytes(
                    of: source.loadUnaligned(fromByteOffset: 16, as: SIMD2<Float>.self), toByteOffset: 16,
                    as: SIMD2<Float>.self)
            }
        } else {
            // op(A)(i, p) = a[p * lda + i]
            for p in 0..<depth {
                let source = op.a + (p0 + p) * op.lda + i0
                let target = packed + p * mr
                for r in 0..<height { target[r] = source[r] }
            }
        }
    }

    /// C[0..<6, 0..<32] = alpha * (A panel · B panel) + beta * C (C not read when beta is 0).
    /// `a` holds `depth` groups of 6 floats (packed), `b` holds `depth` rows of 32 floats.
    /// `inHalves` makes the tile in two 6x16 passes (the default where the whole tile does not
    /// fit the registers, `wholeTileFitsRegisters`); the tests set it both ways to compare them.
    @inline(never)
    static func microKernel(
        depth: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float,
        inHalves: Bool = !wholeTileFitsRegisters
    ) {
        kernelBody(
            depth: depth, a: a, rowStride: 1, depthStride: 6, b: b, c: c, ldc: ldc,
            alpha: alpha, beta: beta, inHalves: inHalves)
    }

    /// The same with A read in place from six rows `lda` apart (A stored row-major).
    @inline(never)
    static func microKernelRowMajorA(
        depth: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float,
        inHalves: Bool = !wholeTileFitsRegisters
    ) {
        kernelBody(
            depth: depth, a: a, rowStride: lda, depthStride: 1, b: b, c: c, ldc: ldc,
            alpha: alpha, beta: beta, inHalves: inHalves)
    }

    /// The same with A read in place from a transposed (column-major) A: six adjacent floats
    /// per step of k, `lda` apart.
    @inline(never)
    static func microKernelTransposedA(
        depth: Int, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>,
        c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float,
        inHalves: Bool = !wholeTileFitsRegisters
    ) {
        kernelBody(
            depth: depth, a: a, rowStride: 1, depthStride: lda, b: b, c: c, ldc: ldc,
            alpha: alpha, beta: beta, inHalves: inHalves)
    }

    /// Whether the 6x32 tile fits in the vector registers: its twelve `SIMD16<Float>` sums take
    /// 12 of AVX-512's 32 registers, but 24 256-bit halves where the CPU has only AVX2 (16
    /// registers), which would spill to the stack on every step of k. There the micro-kernel
    /// makes the tile as two 6x16 halves instead (12 of the 16 registers).
    static let wholeTileFitsRegisters = VectorRegisters.holdSixteenSums

    /// The 6x32 tile of C: in one pass where it fits the registers, else in two 6x16 passes over
    /// the same depth. Each element of C is summed in the same order either way (one FMA per
    /// step of k), so the two give the same bits.
    @inline(__always)
    private static func kernelBody(
        depth: Int, a: UnsafePointer<Float>, rowStride: Int, depthStride: Int,
        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float, beta: Float, inHalves: Bool
    ) {
        if !inHalves {
            wholeTile(
                depth: depth, a: a, rowStride: rowStride, depthStride: depthStride, b: b, c: c,
                ldc: ldc, alpha: alpha, beta: beta)
        } else {
            for half in 0..<2 {
                halfTile(
                    depth: depth, a: a, rowStride: rowStride, depthStride: depthStride,
                    b: b + 16 * half, c: c + 16 * half, ldc: ldc, alpha: alpha, beta: beta)
            }
        }
    }

    /// Columns 0..<16 of a 6x32 tile (`b` points at the panel's first column wanted; its rows
    /// stay 32 floats apart): per step of k, one B vector, six broadcasts of A, six FMAs.
    @inline(__always)
    private static func halfTile(
        depth: Int, a: UnsafePointer<Float>, rowStride: Int, depthStride: Int,
        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float, beta: Float
    ) {
        typealias V = SIMD16<Float>
        var c0 = V(), c1 = V(), c2 = V(), c3 = V(), c4 = V(), c5 = V()
        let r1 = rowStride, r2 = 2 * rowStride, r3 = 3 * rowStride, r4 = 4 * rowStride, r5 = 5 * rowStride
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<depth {
            let b0 = pb.loadUnaligned(as: V.self)
            c0.addProduct(V(repeating: pa[0]), b0)
            c1.addProduct(V(repeating: pa[r1]), b0)
            c2.addProduct(V(repeating: pa[r2]), b0)
            c3.addProduct(V(repeating: pa[r3]), b0)
            c4.addProduct(V(repeating: pa[r4]), b0)
            c5.addProduct(V(repeating: pa[r5]), b0)
            pa += depthStride
            pb += 128
        }
        storeHalfRow(c, c0, alpha: alpha, beta: beta)
        storeHalfRow(c + ldc, c1, alpha: alpha, beta: beta)
        storeHalfRow(c + 2 * ldc, c2, alpha: alpha, beta: beta)
        storeHalfRow(c + 3 * ldc, c3, alpha: alpha, beta: beta)
        storeHalfRow(c + 4 * ldc, c4, alpha: alpha, beta: beta)
        storeHalfRow(c + 5 * ldc, c5, alpha: alpha, beta: beta)
    }

    /// The 6x32 register tile: per step of k, two B vectors, six broadcasts of A
    /// (`a[r * rowStride]`), twelve FMAs.
    @inline(__always)
    private static func wholeTile(
        depth: Int, a: UnsafePointer<Float>, rowStride: Int, depthStride: Int,
        b: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
        alpha: Float, beta: Float
    ) {
        typealias V = SIMD16<Float>
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        let r1 = rowStride, r2 = 2 * rowStride, r3 = 3 * rowStride, r4 = 4 * rowStride, r5 = 5 * rowStride
        var pa = a
        var pb = UnsafeRawPointer(b)
        for _ in 0..<depth {
            let b0 = pb.loadUnaligned(as: V.self)
            let b1 = pb.loadUnaligned(fromByteOffset: 64, as: V.self)
            var x = V(repeating: pa[0])
            c00.addProduct(x, b0); c01.addProduct(x, b1)
            x = V(repeating: pa[r1])
            c10.addProduct(x, b0); c11.addProduct(x, b1)
            x = V(repeating: pa[r2])
            c20.addProduct(x, b0); c21.addProduct(x, b1)
            x = V(repeating: pa[r3])
            c30.addProduct(x, b0); c31.addProduct(x, b1)
            x = V(repeating: pa[r4])
            c40.addProduct(x, b0); c41.addProduct(x, b1)
            x = V(repeating: pa[r5])
            c50.addProduct(x, b0); c51.addProduct(x, b1)
            pa += depthStride
            pb += 128
        }
        storeRow(c, c00, c01, alpha: alpha, beta: beta)
        storeRow(c + ldc, c10, c11, alpha: alpha, beta: beta)
        storeRow(c + 2 * ldc, c20, c21, alpha: alpha, beta: beta)
        storeRow(c + 3 * ldc, c30, c31, alpha: alpha, beta: beta)
        storeRow(c + 4 * ldc, c40, c41, alpha: alpha, beta: beta)
        storeRow(c + 5 * ldc, c50, c51, alpha: alpha, beta: beta)
    }

    @inline(__always)
    private static func storeRow(
        _ row: UnsafeMutablePointer<Float>, _ v0: SIMD16<Float>,
        _ v1: SIMD16<Float>, alpha: Float, beta: Float
    ) {
        storeHalfRow(row, v0, alpha: alpha, beta: beta)
        storeHalfRow(row + 16, v1, alpha: alpha, beta: beta)
    }

    /// row[0..<16] = alpha * v + beta * row (row not read when beta is 0).
    @inline(__always)
    private static func storeHalfRow(
        _ row: UnsafeMutablePointer<Float>, _ v: SIMD16<Float>, alpha: Float, beta: Float
    ) {
        let raw = UnsafeMutableRawPointer(row)
        var r = v * alpha
        if beta != 0 { r.addProduct(SIMD16(repeating: beta), raw.loadUnaligned(as: SIMD16<Float>.self)) }
        raw.storeBytes(of: r, as: SIMD16<Float>.self)
    }

    // MARK: buffers

    /// Packing buffers for one thread, 64-byte aligned, reused across calls so that a product
    /// allocates nothing (a fresh 512 KiB buffer would page-fault on every call).
    final class Workspace {
        let packedA: UnsafeMutablePointer<Float>
        let packedB: UnsafeMutablePointer<Float>
        let scratch: UnsafeMutablePointer<Float>
        /// Extra scratch for requests larger than `packedB` (grown on demand, kept).
        private var large: UnsafeMutableBufferPointer<Float>?

        /// At least `count` floats: `packedB` when it is large enough, else `large`.
        func scratchBuffer(atLeast count: Int) -> UnsafeMutablePointer<Float> {
            if count <= SwiftGEMM.kc * SwiftGEMM.nc { return packedB }
            if let large, large.count >= count { return large.baseAddress! }
            large?.deallocate()
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            large = buffer
            return buffer.baseAddress!
        }

        private init() {
            func allocate(_ count: Int) -> UnsafeMutablePointer<Float> {
                let raw = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
                let pointer = raw.bindMemory(to: Float.self, capacity: count)
                pointer.initialize(repeating: 0, count: count)
                return pointer
            }
            packedA = allocate(SwiftGEMM.mr * SwiftGEMM.kc)
            packedB = allocate(SwiftGEMM.kc * SwiftGEMM.nc)
            scratch = allocate(SwiftGEMM.mr * SwiftGEMM.nr)
        }

        /// Scratch of at least `count` floats from a pooled workspace, which is stored in
        /// `workspace` (taken from the pool if nil) for the caller to give back.
        static func buffer(atLeast count: Int, from workspace: inout Workspace?) -> UnsafeMutablePointer<Float> {
            let taken = workspace ?? pool.take()
            workspace = taken
            return taken.scratchBuffer(atLeast: count)
        }

        /// A free-list of workspaces; it grows to the largest number used at once.
        final class Pool: @unchecked Sendable {
            private let free = Locked<[Workspace]>([])
            func take() -> Workspace { free.withLock { $0.popLast() } ?? Workspace() }
            func give(_ workspace: Workspace) { free.withLock { $0.append(workspace) } }
        }

        static let pool = Pool()
    }
}
