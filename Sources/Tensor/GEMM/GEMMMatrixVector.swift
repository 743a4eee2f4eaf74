extension SwiftGEMM {
    /// Products with one row (m = 1: a token's activations times a weight matrix, the whole
    /// of batch-1 generation) or one column (n = 1). Such a product reads every matrix element
    /// once and does one multiply-add with it, so it is bound by how fast the matrix streams
    /// from cache: no packing, one pass over the matrix in its stored order.
    enum MatrixVector {
        /// How the matrix is laid out relative to the vector it multiplies.
        enum Layout {
            /// y[j] += x[p] * M[p * ld + j]: the matrix's rows run along y (scaled row sums).
            case rowsAlongOutput
            /// y[j] = dot(x, M[j * ld ..< j * ld + k]): each output is a dot product of a row.
            case rowsAreDotProducts
        }

        /// Below this many matrix elements (256 KiB), one thread streams the matrix. Above it
        /// the outputs are split over the `WorkerPool`: its hand-off costs about a microsecond,
        /// little against such a product, so the model's shapes run faster on two threads than
        /// on one (figures: docs/tensor-gemm.md). With Dispatch, waking the second thread cost
        /// as much as the product.
        static let parallelThreshold = 1 << 16

        static func run(_ op: GEMMOperands, threads: Int) {
            // Reduce both cases to y[0..<count] = alpha * x · M + beta * y with x of length k.
            let x: UnsafePointer<Float>, xStride: Int
            let matrix: UnsafePointer<Float>, ld: Int, layout: Layout
            let y: UnsafeMutablePointer<Float>, yStride: Int, count: Int
            if op.m == 1 {
                x = op.a; xStride = op.transposeA ? op.lda : 1
                matrix = op.b; ld = op.ldb
                layout = op.transposeB ? .rowsAreDotProducts : .rowsAlongOutput
                y = op.c; yStride = 1; count = op.n
            } else {
                x = op.b; xStride = op.transposeB ? 1 : op.ldb
                matrix = op.a; ld = op.lda
                layout = op.transposeA ? .rowsAlongOutput : .rowsAreDotProducts
                y = op.c; yStride = op.ldc; count = op.m
            }
            let k = op.k
            // A strided vector is gathered once so the inner loops read it contiguously, into
            // pooled memory: generation calls this per token, and should allocate nothing.
            var workspace: Workspace?
            var vector = x
            if xStride != 1 {
                let buffer = Workspace.buffer(atLeast: k, from: &workspace)
                for p in 0..<k { buffer[p] = x[p * xStride] }
                vector = UnsafePointer(buffer)
            }
            defer { workspace.map { Workspace.pool.give($0) } }

            let product = Product(
                k: k, x: vector, matrix: matrix, ld: ld, layout: layout,
                output: Output(y: y, stride: yStride, alpha: op.alpha, beta: op.beta))
            let grain = layout == .rowsAlongOutput ? 128 : 4
            let tasks =
                (threads > 1 && k * count >= parallelThreshold)
                ? min(threads, (count + grain - 1) / grain) : 1
            if tasks == 1 {
                product.compute(0..<count)
            } else {
                let perTask = ((count + grain - 1) / grain + tasks - 1) / tasks * grain
                WorkerPool.shared.run(tasks: tasks) { task in
                    let start = task * perTask, end = min(count, start + perTask)
                    if start < end { product.compute(start..<end) }
                }
            }
        }

        /// One reduced product: y = alpha * x · M + beta * y, M laid out as `layout`.
        struct Product {
            var k: Int, x: UnsafePointer<Float>, matrix: UnsafePointer<Float>, ld: Int
            var layout: Layout, output: Output

            /// Computes the outputs in `range` on the calling thread.
            func compute(_ range: Range<Int>) {
                switch layout {
                case .rowsAlongOutput:
                    scaledRowSums(k: k, x: x, matrix: matrix, ld: ld, columns: range, output: output)
                case .rowsAreDotProducts:
                    dotProducts(k: k, x: x, matrix: matrix, ld: ld, rows: range, output: output)
                }
            }
        }

        /// Where results go: y[j * stride] = alpha * value + beta * y[j * stride].
        struct Output {
            var y: UnsafeMutablePointer<Float>, stride: Int, alpha: Float, beta: Float

            @inline(__always)
            func write(_ value: Float, at j: Int) {
                let target = y + j * stride
                target.pointee = beta == 0 ? alpha * value : alpha * value + beta * target.pointee
            }

            @inline(__always)
            func write(_ values: SIMD16<Float>, at j: Int) {
                for lane in 0..<16 { write(values[lane], at: j + lane) }
            }
        }

        /// y[j] for j in `columns`: sum over p of x[p] * M[p * ld + j], reading the matrix in
        /// memory order, four rows at a time across all the columns, into a buffer of sums
        /// (each sum: p ascending, one FMA per term). Faster on one thread than holding 128
        /// columns in registers over all rows, which reads 512-byte pieces 4*ld apart
        /// (measured: docs/tensor-gemm.md).
        private static func scaledRowSums(
            k: Int, x: UnsafePointer<Float>, matrix: UnsafePointer<Float>,
            ld: Int, columns: Range<Int>, output: Output
        ) {
            typealias V = SIMD16<Float>
            let width = columns.count
            let vectorWidth = width & ~15
            var workspace: Workspace?
            let sums = Workspace.buffer(atLeast: width, from: &workspace)
            defer { workspace.map { Workspace.pool.give($0) } }
            sums.update(repeating: 0, count: width)
            let base = matrix + columns.lowerBound
            var p = 0
            while p < k {
                let rows = min(4, k - p)
                let r0 = base + p * ld
                if rows == 4 {
                    let x0 = V(repeating: x[p]), x1 = V(repeating: x[p + 1])
                    let x2 = V(repeating: x[p + 2]), x3 = V(repeating: x[p + 3])
                    let r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld
                    var j = 0
                    while j < vectorWidth {
                        let target = UnsafeMutableRawPointer(sums + j)
                        var s = target.loadUnaligned(as: V.self)
                        s.addProduct(x0, UnsafeRawPointer(r0 + j).loadUnaligned(as: V.self))
                        s.addProduct(x1, UnsafeRawPointer(r1 + j).loadUnaligned(as: V.self))
                        s.addProduct(x2, UnsafeRawPointer(r2 + j).loadUnaligned(as: V.self))
                        s.addProduct(x3, UnsafeRawPointer(r3 + j).loadUnaligned(as: V.self))
                        target.storeBytes(of: s, as: V.self)
                        j += 16
                    }
                    while j < width {
                        var s = sums[j]
                        s.addProduct(x[p], r0[j]); s.addProduct(x[p + 1], r1[j])
                        s.addProduct(x[p + 2], r2[j]); s.addProduct(x[p + 3], r3[j])
                        sums[j] = s
                        j += 1
                    }
                } else {
                    for q in 0..<rows {
                        let row = r0 + q * ld
                        for j in 0..<width { sums[j].addProduct(x[p + q], row[j]) }
                    }
                }
                p += rows
            }
            for j in 0..<width { output.write(sums[j], at: columns.lowerBound + j) }
        }

        /// y[j] for j in `rows`: dot(x, M[j * ld ..< j * ld + k]), four rows at a time sharing
        /// each load of x.
        private static func dotProducts(
            k: Int, x: UnsafePointer<Float>, matrix: UnsafePointer<Float>,
            ld: Int, rows: Range<Int>, output: Output
        ) {
            typealias V = SIMD16<Float>
            let vectorEnd = k & ~15
            var j = rows.lowerBound
            while j + 4 <= rows.upperBound {
                let r0 = matrix + j * ld, r1 = r0 + ld, r2 = r1 + ld, r3 = r2 + ld
                var a0 = V(), a1 = V(), a2 = V(), a3 = V()
                var p = 0
                while p < vectorEnd {
                    let xv = UnsafeRawPointer(x + p).loadUnaligned(as: V.self)
                    a0.addProduct(xv, UnsafeRawPointer(r0 + p).loadUnaligned(as: V.self))
                    a1.addProduct(xv, UnsafeRawPointer(r1 + p).loadUnaligned(as: V.self))
                    a2.addProduct(xv, UnsafeRawPointer(r2 + p).loadUnaligned(as: V.self))
                    a3.addProduct(xv, UnsafeRawPointer(r3 + p).loadUnaligned(as: V.self))
                    p += 16
                }
                var s0 = a0.sum(), s1 = a1.sum(), s2 = a2.sum(), s3 = a3.sum()
                while p < k {
                    s0.addProduct(x[p], r0[p]); s1.addProduct(x[p], r1[p])
                    s2.addProduct(x[p], r2[p]); s3.addProduct(x[p], r3[p])
                    p += 1
                }
                output.write(s0, at: j); output.write(s1, at: j + 1)
                output.write(s2, at: j + 2); output.write(s3, at: j + 3)
                j += 4
            }
            while j < rows.upperBound {
                let r0 = matrix + j * ld
                var a0 = V()
                var p = 0
                while p < vectorEnd {
                    a0.addProduct(
                        UnsafeRawPointer(x + p).loadUnaligned(as: V.self),
                        UnsafeRawPointer(r0 + p).loadUnaligned(as: V.self))
                    p += 16
                }
                var s0 = a0.sum()
                while p < k { s0.addProduct(x[p], r0[p]); p += 1 }
                output.write(s0, at: j)
                j += 1
            }
        }
    }
}
