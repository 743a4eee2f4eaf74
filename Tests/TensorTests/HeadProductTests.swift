import Testing

@testable import Tensor

/// Attention's unpacked per-head product against a plain loop: every block height (1 to 8
/// rows, so both the 4-row and the 8-row kernels and their edges), column counts that are and
/// are not multiples of the 16- and 32-wide strips, A read row-major and transposed, C written
/// and accumulated. Each element is summed over k in increasing order, as the loop sums, so the
/// results are equal exactly.
@Suite struct HeadProductTests {
    @Test func transposeMovesEveryElement() {
        for rows in [1, 7, 8, 9, 15, 16, 17, 40] {
            for columns in [1, 7, 8, 9, 32, 33] {
                let stride = columns + 5
                let source = (0..<(rows * stride)).map { Float($0) }
                var out = [Float](repeating: -1, count: rows * columns)
                source.withUnsafeBufferPointer { s in
                    out.withUnsafeMutableBufferPointer { o in
                        HeadProduct.transpose(
                            s.baseAddress!, sourceStride: stride, rows: rows, columns: columns, into: o.baseAddress!)
                    }
                }
                let expected = (0..<(rows * columns)).map { i in source[(i % rows) * stride + i / rows] }
                #expect(out == expected, "rows \(rows), columns \(columns)")
                // Rows read in reverse (a negative stride), as attention reads distances.
                var reversed = [Float](repeating: -1, count: rows * columns)
                source.withUnsafeBufferPointer { s in
                    reversed.withUnsafeMutableBufferPointer { o in
                        HeadProduct.transpose(
                            s.baseAddress! + (rows - 1) * stride, sourceStride: -stride, rows: rows, columns: columns,
                            into: o.baseAddress!)
                    }
                }
                let backwards = (0..<(rows * columns)).map { i in
                    source[(rows - 1 - i % rows) * stride + i / rows]
                }
                #expect(reversed == backwards, "reversed: rows \(rows), columns \(columns)")
            }
        }
    }

    @Test func everyBlockShapeEqualsThePlainLoop() {
        var g = SeededGenerator(seed: 7)
        for rows in 1...HeadProduct.blockRows {
            for n in [5, 16, 32, 48, 70] {
                for k in [1, 3, 32] {
                    for transposed in [false, true] {
                        // (accumulate, narrow): both block shapes, into a fresh or a running C.
                        for (accumulate, narrow) in [(false, false), (true, false), (false, true), (true, true)] {
                            // A is [rows, k]; transposed, it is stored [k, rows + 3] (a wider matrix).
                            let stride = transposed ? rows + 3 : k + 2
                            let storage = (0..<(max(rows, k) * (max(rows, k) + 3))).map { _ in g.nextUniform() - 0.5 }
                            let b = (0..<(k * (n + 1))).map { _ in g.nextUniform() - 0.5 }
                            let ldc = n + 2
                            let start = (0..<(rows * ldc)).map { _ in g.nextUniform() - 0.5 }
                            func element(_ r: Int, _ p: Int) -> Float {
                                transposed ? storage[p * stride + r] : storage[r * stride + p]
                            }
                            var expected = start
                            for r in 0..<rows {
                                for j in 0..<n {
                                    var sum: Float = 0
                                    for p in 0..<k {
                                        // The vector strips fuse each multiply-add; the last
                                        // columns, fewer than a vector, are summed plainly.
                                        if j < n / vectorWidth * vectorWidth {
                                            sum.addProduct(element(r, p), b[p * (n + 1) + j])
                                        } else {
                                            sum += element(r, p) * b[p * (n + 1) + j]
                                        }
                                    }
                                    expected[r * ldc + j] = accumulate ? start[r * ldc + j] + sum : sum
                                }
                            }
                            var c = start
                            storage.withUnsafeBufferPointer { a in
                                b.withUnsafeBufferPointer { b in
                                    c.withUnsafeMutableBufferPointer { c in
                                        HeadProduct.block(
                                            rows: rows, n: n, k: k,
                                            a: .init(
                                                base: a.baseAddress!, rowStep: transposed ? 1 : stride,
                                                columnStep: transposed ? stride : 1),
                                            b: b.baseAddress!, ldb: n + 1, c: c.baseAddress!, ldc: ldc,
                                            accumulate: accumulate, narrow: narrow)
                                    }
                                }
                            }
                            #expect(
                                c == expected,
                                "rows \(rows), n \(n), k \(k), transposed \(transposed), \(accumulate), \(narrow)")
                        }
                    }
                }
            }
        }
    }
}
