import Dispatch

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

        /// Below this many matrix elements, one thread streams the matrix faster than two
        /// threads can be woken.
        static let parallelThreshold = 1 << 17

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
            // A strided vector is gathered once so the inner loops read it contiguously.
            var gathered: UnsafeMutablePointer<Float>?
            if xStride != 1 {
                let buffer = UnsafeMutablePointer<Float>.allocate(capacity: k)
                for p in 0..<k { buffer[p] = x[p * xStride] }
                gathered = buffer
            }
            defer { gathered?.deallocate() }
            let vector = UnsafePointer(gathered ?? UnsafeMutablePointer(mutating: x))

            let output = Output(y: y, stride: yStride, alpha: op.alpha, beta: op.beta)
            let grain = layout == .rowsAlongOutput ? 128 : 4
            let tasks = (threads > 1 && k * count >= parallelThreshold)
                ? min(threads, (count + grain - 1) / grain) : 1
            let perTask = ((count + grain - 1) / grain + tasks - 1) / tasks * grain
            let compute = { (range: Range<Int>) in
                switch layout {
                case .rowsAlongOutput:
                    scaledRowSums(k: k, x: vector, matrix: matrix, ld: ld, columns: range, output: output)
                case .rowsAreDotProducts:
                    dotProducts(k: k, x: vector, matrix: matrix, ld: ld, rows: range, output: output)
                }
            }
            if tasks == 1 {
                compute(0..<count)
            } else {
                DispatchQueue.concurrentPerform(iterations: tasks) { task in
                    let start = task * perTask, end = min(count, start + perTask)
                    if start < end { compute(start..<end) }
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

        /// y[j] for j in `columns`: sum over p of x[p] * M[p * ld + j], 128 columns at a time
        /// in eight accumulators, so each matrix row segment is one streaming read.
        private static func scaledRowSums(k: Int, x: UnsafePointer<Float>, matrix: UnsafePointer<Float>,
                                          ld: Int, columns: Range<Int>, output: Output) {
            typealias V = SIMD16<Float>
            var j = columns.lowerBound
            while j + 128 <= columns.upperBound {
                var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V(), a5 = V(), a6 = V(), a7 = V()
                var row = UnsafeRawPointer(matrix + j)
                for p in 0..<k {
                    let s = V(repeating: x[p])
                    a0.addProduct(s, row.loadUnaligned(as: V.self))
                    a1.addProduct(s, row.loadUnaligned(fromByteOffset: 64, as: V.self))
                    a2.addProduct(s, row.loadUnaligned(fromByteOffset: 128, as: V.self))
                    a3.addProduct(s, row.loadUnaligned(fromByteOffset: 192, as: V.self))
                    a4.addProduct(s, row.loadUnaligned(fromByteOffset: 256, as: V.self))
                    a5.addProduct(s, row.loadUnaligned(fromByteOffset: 320, as: V.self))
                    a6.addProduct(s, row.loadUnaligned(fromByteOffset: 384, as: V.self))
                    a7.addProduct(s, row.loadUnaligned(fromByteOffset: 448, as: V.self))
                    row += ld * 4
                }
                output.write(a0, at: j); output.write(a1, at: j + 16)
                output.write(a2, at: j + 32); output.write(a3, at: j + 48)
                output.write(a4, at: j + 64); output.write(a5, at: j + 80)
                output.write(a6, at: j + 96); output.write(a7, at: j + 112)
                j += 128
            }
            while j + 16 <= columns.upperBound {
                var a0 = V()
                var row = UnsafeRawPointer(matrix + j)
                for p in 0..<k {
                    a0.addProduct(V(repeating: x[p]), row.loadUnaligned(as: V.self))
                    row += ld * 4
                }
                output.write(a0, at: j)
                j += 16
            }
            while j < columns.upperBound {
                var sum: Float = 0
                for p in 0..<k { sum.addProduct(x[p], matrix[p * ld + j]) }
                output.write(sum, at: j)
                j += 1
            }
        }

        /// y[j] for j in `rows`: dot(x, M[j * ld ..< j * ld + k]), four rows at a time sharing
        /// each load of x.
        private static func dotProducts(k: Int, x: UnsafePointer<Float>, matrix: UnsafePointer<Float>,
                                        ld: Int, rows: Range<Int>, output: Output) {
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
                    a0.addProduct(UnsafeRawPointer(x + p).loadUnaligned(as: V.self),
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
