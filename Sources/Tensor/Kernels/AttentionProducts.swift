/// The small matrix products inside one attention head, without packing.
///
/// Attention's products are thin: one side is a head ([rows, d], d = 32 in the `small`
/// model), so a packed GEMM spends as long packing as multiplying. Here every product is
/// `C[rows, n] (+)= A[rows, k] · B[k, n]` with B row-major (the caller transposes K or V once
/// per head where needed), computed in blocks of up to 4 rows of C by 32 columns held in
/// eight `SIMD16<Float>` accumulators, the inner loop running over k with one broadcast of A
/// per row. Each element of C is summed over k in increasing order, so results depend on
/// nothing but the inputs.
enum HeadProduct {
    /// A read-only matrix whose element (row, column) is at
    /// `base[row * rowStep + column * columnStep]`: `columnStep == 1` is row-major,
    /// `rowStep == 1` reads a row-major matrix transposed.
    struct Operand {
        var base: UnsafePointer<Float>
        var rowStep: Int
        var columnStep: Int

        @inline(__always) func offset(row: Int, column: Int) -> UnsafePointer<Float> {
            base + row * rowStep + column * columnStep
        }
    }

    /// `C[r, j] (+)= Σ_{p < k} A[r, p] · B[p, j]` for r in 0..<rows (rows ≤ 4), j in 0..<n.
    /// B is row-major with row stride `ldb`; C has row stride `ldc`.
    @inline(__always)
    static func block(
        rows: Int, n: Int, k: Int, a: Operand,
        b: UnsafePointer<Float>, ldb: Int,
        c: UnsafeMutablePointer<Float>, ldc: Int, accumulate: Bool
    ) {
        if rows <= 0 || n <= 0 { return }
        // Rows past `rows` repeat the last row's A (computed, never stored).
        let a0 = a.offset(row: 0, column: 0)
        let a1 = a.offset(row: Swift.min(1, rows - 1), column: 0)
        let a2 = a.offset(row: Swift.min(2, rows - 1), column: 0)
        let a3 = a.offset(row: Swift.min(3, rows - 1), column: 0)
        let step = a.columnStep
        var j = 0
        while j + 2 * vectorWidth <= n {
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
        if j + vectorWidth <= n {
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
    /// transposed into a contiguous [columns, rows] matrix.
    @inline(__always)
    static func transpose(
        _ source: UnsafePointer<Float>, sourceStride: Int, rows: Int, columns: Int,
        into destination: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let row = source + r * sourceStride
            for c in 0..<columns { destination[c * rows + r] = row[c] }
        }
    }
}
