import TensorKernels

/// The small matrix products inside one attention head, without packing.
///
/// Attention's products are thin: one side is a head ([rows, d], d = 32 in the `small`
/// model), so a packed GEMM spends as long packing as multiplying. Here every product is
/// `C[rows, n] (+)= A[rows, k] · B[k, n]` with B row-major (the caller transposes K or V once
/// per head where needed), computed in blocks of up to 8 rows of C by 32 columns held in
/// sixteen `SIMD16<Float>` accumulators (4 rows in eight at the edges), the inner loop running
/// over k with one broadcast of A per row. Without AVX-512 those sixteen are 32 of AVX2's 16
/// registers, so there blocks are made 4 rows by 16 columns at a time (`narrow`), as the GEMM's
/// tile is made in halves. Each element of C is summed over k in increasing order either way,
/// so results depend on nothing but the inputs.
enum HeadProduct {
    /// A read-only matrix whose element (row, column) is at
    /// `base[row * rowStep + column * columnStep]`: `columnStep == 1` is row-major,
    /// `rowStep == 1` reads a row-major matrix transposed. Steps may be negative: attention reads
    /// its position gradients with distances reversed.
    struct Operand {
        var base: UnsafePointer<Float>
        var rowStep: Int
        var columnStep: Int

        @inline(__always) func offset(row: Int, column: Int) -> UnsafePointer<Float> {
            base + row * rowStep + column * columnStep
        }

        /// The same matrix from row `row` on (its row 0 is this one's row `row`).
        @inline(__always) func rows(from row: Int) -> Operand {
            Operand(base: offset(row: row, column: 0), rowStep: rowStep, columnStep: columnStep)
        }
    }

    /// The rows of C one block computes at most.
    static let blockRows = 8

    /// `C[r, j] (+)= Σ_{p < k} A[r, p] · B[p, j]` for r in 0..<rows (rows ≤ 8), j in 0..<n.
    /// B is row-major with row stride `ldb`; C has row stride `ldc`. Blocks of more than 4 rows
    /// are two blocks of 4 sharing each load of B over the 32-column strips; `narrow` (the
    /// default where those do not fit the registers) makes them 4 rows by 16 columns at a time.
    /// Both give the same bits; the tests set `narrow` both ways to compare them.
    @inline(__always)
    static func block(
        rows: Int, n: Int, k: Int, a: Operand,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool,
        narrow: Bool = !VectorRegisters.holdSixteenSums
    ) {
        if narrow {
            var r = 0
            while r < rows {
                fourRows(
                    rows: Swift.min(4, rows - r), n: n, k: k,
                    a: a.rows(from: r),
                    b: b, ldb: ldb, c: c + r * ldc, ldc: ldc, accumulate: accumulate, narrow: true)
                r += 4
            }
        } else if rows > 4 {
            let wide = n / (2 * vectorWidth) * (2 * vectorWidth)
            eightRows(rows: rows, n: wide, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
            if wide < n {
                fourRows(
                    rows: 4, n: n - wide, k: k, a: a, b: b + wide, ldb: ldb, c: c + wide, ldc: ldc,
                    accumulate: accumulate)
                fourRows(
                    rows: rows - 4, n: n - wide, k: k,
                    a: a.rows(from: 4),
                    b: b + wide, ldb: ldb, c: c + 4 * ldc + wide, ldc: ldc, accumulate: accumulate)
            }
        } else {
            fourRows(rows: rows, n: n, k: k, a: a, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
        }
    }

    /// `block` for 5 to 8 rows over n, a multiple of 32 columns: 16 accumulators, each load of B
    /// feeding eight rows (rows past `rows` repeat the last row's A, computed and not stored).
    @inline(__always)
    private static func eightRows(
        rows: Int, n: Int, k: Int, a: Operand,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        let step = a.columnStep
        let a0 = a.offset(row: 0, column: 0), a1 = a.offset(row: 1, column: 0)
        let a2 = a.offset(row: 2, column: 0), a3 = a.offset(row: 3, column: 0)
        let a4 = a.offset(row: 4, column: 0), a5 = a.offset(row: Swift.min(5, rows - 1), column: 0)
        let a6 = a.offset(row: Swift.min(6, rows - 1), column: 0), a7 = a.offset(row: Swift.min(7, rows - 1), column: 0)
        var j = 0
        while j + 2 * vectorWidth <= n {
            var c00 = Vector(), c01 = Vector(), c10 = Vector(), c11 = Vector()
            var c20 = Vector(), c21 = Vector(), c30 = Vector(), c31 = Vector()
            var c40 = Vector(), c41 = Vector(), c50 = Vector(), c51 = Vector()
            var c60 = Vector(), c61 = Vector(), c70 = Vector(), c71 = Vector()
            var bRow = b + j
            var p0 = a0, p1 = a1, p2 = a2, p3 = a3, p4 = a4, p5 = a5, p6 = a6, p7 = a7
            for _ in 0..<k {
                let b0 = loadVector(bRow), b1 = loadVector(bRow + vectorWidth)
                var x = Vector(repeating: p0.pointee)
                c00.addProduct(x, b0); c01.addProduct(x, b1)
                x = Vector(repeating: p1.pointee)
                c10.addProduct(x, b0); c11.addProduct(x, b1)
                x = Vector(repeating: p2.pointee)
                c20.addProduct(x, b0); c21.addProduct(x, b1)
                x = Vector(repeating: p3.pointee)
                c30.addProduct(x, b0); c31.addProduct(x, b1)
                x = Vector(repeating: p4.pointee)
                c40.addProduct(x, b0); c41.addProduct(x, b1)
                x = Vector(repeating: p5.pointee)
                c50.addProduct(x, b0); c51.addProduct(x, b1)
                x = Vector(repeating: p6.pointee)
                c60.addProduct(x, b0); c61.addProduct(x, b1)
                x = Vector(repeating: p7.pointee)
                c70.addProduct(x, b0); c71.addProduct(x, b1)
                bRow += ldb
                p0 += step; p1 += step; p2 += step; p3 += step; p4 += step; p5 += step; p6 += step; p7 += step
            }
            let out = c + j
            store(c00, c01, out, accumulate)
            store(c10, c11, out + ldc, accumulate)
            store(c20, c21, out + 2 * ldc, accumulate)
            store(c30, c31, out + 3 * ldc, accumulate)
            store(c40, c41, out + 4 * ldc, accumulate)
            if rows > 5 { store(c50, c51, out + 5 * ldc, accumulate) }
            if rows > 6 { store(c60, c61, out + 6 * ldc, accumulate) }
            if rows > 7 { store(c70, c71, out + 7 * ldc, accumulate) }
            j += 2 * vectorWidth
        }
    }

    /// `block` for at most 4 rows; `narrow` goes 16 columns at a time (8 accumulators), else 32.
    @inline(__always)
    private static func fourRows(
        rows: Int, n: Int, k: Int, a: Operand,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool, narrow: Bool = false
    ) {
        if rows <= 0 || n <= 0 { return }
        // Rows past `rows` repeat the last row's A (computed, never stored).
        let a0 = a.offset(row: 0, column: 0)
        let a1 = a.offset(row: Swift.min(1, rows - 1), column: 0)
        let a2 = a.offset(row: Swift.min(2, rows - 1), column: 0)
        let a3 = a.offset(row: Swift.min(3, rows - 1), column: 0)
        let step = a.columnStep
        var j = 0
        while !narrow && j + 2 * vectorWidth <= n {
            var c00 = Vector(), c01 = Vector(), c10 = Vector(), c11 = Vector()
            var c20 = Vector(), c21 = Vector(), c30 = Vector(), c31 = Vector()
            var bRow = b + j
            // Pointer steps instead of p * step: no overflow checks in the loop.
            var p0 = a0, p1 = a1, p2 = a2, p3 = a3
            for _ in 0..<k {
                let b0 = loadVector(bRow), b1 = loadVector(bRow + vectorWidth)
                let x0 = Vector(repeating: p0.pointee), x1 = Vector(repeating: p1.pointee)
                let x2 = Vector(repeating: p2.pointee), x3 = Vector(repeating: p3.pointee)
                c00.addProduct(x0, b0); c01.addProduct(x0, b1)
                c10.addProduct(x1, b0); c11.addProduct(x1, b1)
                c20.addProduct(x2, b0); c21.addProduct(x2, b1)
                c30.addProduct(x3, b0); c31.addProduct(x3, b1)
                bRow += ldb
                p0 += step; p1 += step; p2 += step; p3 += step
            }
            store(c00, c01, c + j, accumulate)
            if rows > 1 { store(c10, c11, c + ldc + j, accumulate) }
            if rows > 2 { store(c20, c21, c + 2 * ldc + j, accumulate) }
            if rows > 3 { store(c30, c31, c + 3 * ldc + j, accumulate) }
            j += 2 * vectorWidth
        }
        while j + vectorWidth <= n {
            var c0 = Vector(), c1 = Vector(), c2 = Vector(), c3 = Vector()
            var bRow = b + j
            var p0 = a0, p1 = a1, p2 = a2, p3 = a3
            for _ in 0..<k {
                let b0 = loadVector(bRow)
                c0.addProduct(Vector(repeating: p0.pointee), b0)
                c1.addProduct(Vector(repeating: p1.pointee), b0)
                c2.addProduct(Vector(repeating: p2.pointee), b0)
                c3.addProduct(Vector(repeating: p3.pointee), b0)
                bRow += ldb
                p0 += step; p1 += step; p2 += step; p3 += step
            }
            store(c0, c + j, accumulate)
            if rows > 1 { store(c1, c + ldc + j, accumulate) }
            if rows > 2 { store(c2, c + 2 * ldc + j, accumulate) }
            if rows > 3 { store(c3, c + 3 * ldc + j, accumulate) }
            j += vectorWidth
        }
        // Fewer than 16 columns left (odd head sizes): scalar, same k order.
        while j < n {
            for r in 0..<rows {
                let ar = a.offset(row: r, column: 0)
                var sum: Float = 0
                for p in 0..<k { sum += ar[p * step] * b[p * ldb + j] }
                if accumulate { c[r * ldc + j] += sum } else { c[r * ldc + j] = sum }
            }
            j += 1
        }
    }

    @inline(__always)
    private static func store(_ v0: Vector, _ v1: Vector, _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
        store(v0, c, accumulate)
        store(v1, c + vectorWidth, accumulate)
    }

    @inline(__always)
    private static func store(_ v: Vector, _ c: UnsafeMutablePointer<Float>, _ accumulate: Bool) {
        storeVector(accumulate ? loadVector(c) + v : v, c)
    }

    /// `destination[c * rows + r] = source[r * sourceStride + c]`: `rows` rows of `columns`
    /// transposed into a contiguous [columns, rows] matrix (a negative `sourceStride` reverses the
    /// rows, as attention's reversed distances need). `cadenza_transpose_floats` (C): 8 x 8
    /// blocks transposed in registers where the CPU has AVX2.
    @inline(__always)
    static func transpose(
        _ source: UnsafePointer<Float>, sourceStride: Int, rows: Int, columns: Int,
        into destination: UnsafeMutablePointer<Float>
    ) {
        cadenza_transpose_floats(source, sourceStride, rows, columns, destination)
    }
}
