/// Sums over the depth of a product's operand, lane by lane (a lane is a row of op(A) or a column
/// of op(B)): `sums[lane] += Σ_p value(lane, p)`, one float addition at a time in increasing p, so
/// every path gives the same bits, whatever the thread count. `GEMM.multiply` adds them for its
/// `sumsOfA` and `sumsOfB` (a Linear layer's bias gradient is the column sums of its output
/// gradient, the operand of its weight gradient); the float16 product finds them in the pass that
/// scales its operands (`cadenza_f16_lane_scales`), the others here.
enum LaneSums {
    /// The sums of op(A)'s rows ([m, k]; A stored [k, m] when `transposed`).
    static func addRows(
        of a: UnsafePointer<Float>, lda: Int, transposed: Bool, m: Int, k: Int, into sums: UnsafeMutablePointer<Float>
    ) {
        add(lanes: m, depth: k, x: a, ld: lda, depthMajor: transposed, into: sums)
    }

    /// The sums of op(B)'s columns ([k, n]; B stored [n, k] when `transposed`).
    static func addColumns(
        of b: UnsafePointer<Float>, ldb: Int, transposed: Bool, k: Int, n: Int, into sums: UnsafeMutablePointer<Float>
    ) {
        add(lanes: n, depth: k, x: b, ld: ldb, depthMajor: !transposed, into: sums)
    }

    /// Lane l's value at depth p is x[p · ld + l] when `depthMajor` (each depth a row of lanes,
    /// summed a row at a time, the lanes split over the threads), else x[l · ld + p].
    static func add(
        lanes: Int, depth: Int, x: UnsafePointer<Float>, ld: Int, depthMajor: Bool,
        into sums: UnsafeMutablePointer<Float>
    ) {
        guard lanes > 0, depth > 0 else { return }
        Parallel.forEachRange(lanes, minimumChunk: depth * lanes < 1 << 16 ? lanes : 64) { range in
            if depthMajor {
                for p in 0..<depth {
                    let row = x + p * ld
                    for l in range { sums[l] += row[l] }
                }
            } else {
                for l in range {
                    var total = sums[l]
                    for p in 0..<depth { total += x[l * ld + p] }
                    sums[l] = total
                }
            }
        }
    }
}
