import TensorKernels

/// SIMD building blocks shared by the kernels: 16-float vectors (one AVX-512 register with
/// `-target-cpu native`), unaligned loads and stores, reductions in a fixed order, and a
/// vectorised `exp`.
///
/// Reductions sum 16 lanes in parallel over the vector part, add the lanes pairwise
/// (`SIMD.sum()`), then add the scalar tail in index order: a fixed order that depends only
/// on the length, never on threads.
@usableFromInline typealias Vector = SIMD16<Float>
@usableFromInline let vectorWidth = 16

@inline(__always) @usableFromInline
func loadVector(_ p: UnsafePointer<Float>) -> Vector {
    UnsafeRawPointer(p).loadUnaligned(as: Vector.self)
}

@inline(__always) @usableFromInline
func storeVector(_ v: Vector, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: Vector.self)
}

/// Σ p[0..<n].
@inline(__always) @usableFromInline
func vectorSum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vector()
    var i = 0
    while i + vectorWidth <= n { acc += loadVector(p + i); i += vectorWidth }
    var s = acc.sum()
    while i < n { s += p[i]; i += 1 }
    return s
}

/// Σ a[i] b[i] for i in 0..<n.
@inline(__always) @usableFromInline
func vectorDot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = Vector()
    var i = 0
    while i + vectorWidth <= n { acc.addProduct(loadVector(a + i), loadVector(b + i)); i += vectorWidth }
    var s = acc.sum()
    while i < n { s += a[i] * b[i]; i += 1 }
    return s
}

/// Σ a[i] b[i] + c[i] e[i] for i in 0..<n, with one horizontal reduction.
@inline(__always) @usableFromInline
func vectorDot2(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>,
    _ c: UnsafePointer<Float>, _ e: UnsafePointer<Float>, _ n: Int
) -> Float {
    var acc = Vector()
    var i = 0
    while i + vectorWidth <= n {
        acc.addProduct(loadVector(a + i), loadVector(b + i))
        acc.addProduct(loadVector(c + i), loadVector(e + i))
        i += vectorWidth
    }
    var s = acc.sum()
    while i < n { s += a[i] * b[i] + c[i] * e[i]; i += 1 }
    return s
}

/// max p[0..<n] (n ≥ 1): 16 lanes, lane l taking p[i + l] where it is greater, then the lanes
/// in order and the tail in index order, each taken where greater or equal (`SIMD.max()` and
/// `Swift.max`); NaNs are never taken. The loop is `cadenza_largest` (C), whose lane loop is one
/// `vmaxps`: in Swift the lane-wise choice compiled to 128-bit pieces and `SIMD.max()` stayed a
/// call to a scalar loop, a large share of a softmax row.
@inline(__always) @usableFromInline
func vectorMax(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    cadenza_largest(p, n)
}

/// result[i] = a[i] · b[i] for i in 0..<n (one rounding each; `result` may be `a` or `b`). In
/// whole vectors by hand: with `result` the same as an input, the compiler's own vectorised
/// loop fails its overlap check and runs a scalar one.
@inline(__always) @usableFromInline
func vectorMultiply(
    _ result: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int
) {
    var i = 0
    while i + vectorWidth <= n {
        storeVector(loadVector(a + i) * loadVector(b + i), result + i)
        i += vectorWidth
    }
    while i < n { result[i] = a[i] * b[i]; i += 1 }
}

/// y[i] += a[i] · b[i] for i in 0..<n: the product rounded, then the sum (no fused
/// multiply-add), in whole vectors as `vectorMultiply` is.
@inline(__always) @usableFromInline
func vectorAddProducts(
    _ y: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int
) {
    var i = 0
    while i + vectorWidth <= n {
        storeVector(loadVector(y + i) + loadVector(a + i) * loadVector(b + i), y + i)
        i += vectorWidth
    }
    while i < n { y[i] += a[i] * b[i]; i += 1 }
}

/// The largest magnitude among p[0..<n] (0 when n is 0), compared as bit patterns with the sign
/// cleared: those order as the magnitudes do and put NaN above infinity, so the result is not
/// finite when any element is not. (Swift's float `pointwiseMax` keeps NaN rules and compiles
/// to scalar code; a compare and a blend on the integers does not.)
@inline(__always) @usableFromInline
func largestMagnitude(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
    typealias Bits = SIMD16<Int32>
    var highest = Bits()
    var i = 0
    while i + vectorWidth <= n {
        let bits = UnsafeRawPointer(p + i).loadUnaligned(as: Bits.self) & Bits(repeating: 0x7FFF_FFFF)
        highest.replace(with: bits, where: bits .> highest)
        i += vectorWidth
    }
    var largestBits = UInt32(highest.max())
    while i < n {
        largestBits = max(largestBits, p[i].bitPattern & 0x7FFF_FFFF)
        i += 1
    }
    return Float(bitPattern: largestBits)
}

/// v rounded to the nearest integers, ties to even, for |v| < 2²²: adding 1.5·2²³ leaves each
/// integer in the low mantissa bits (Swift's generic SIMD float-to-integer conversion is a loop
/// of library calls).
@inline(__always) @usableFromInline
func roundedToIntegers(_ v: Vector) -> SIMD16<Int32> {
    unsafeBitCast(v + 12_582_912, to: SIMD16<Int32>.self) &- 0x4B40_0000
}

/// `roundedToIntegers` for one value, by the same operations.
@inline(__always) @usableFromInline
func roundedToInteger(_ x: Float) -> Int32 {
    Int32(bitPattern: (x + 12_582_912).bitPattern) &- 0x4B40_0000
}

/// y[i] += a * x[i] for i in 0..<n.
@inline(__always) @usableFromInline
func vectorAddScaled(_ y: UnsafeMutablePointer<Float>, _ a: Float, _ x: UnsafePointer<Float>, _ n: Int) {
    var i = 0
    while i + vectorWidth <= n {
        var v = loadVector(y + i)
        v.addProduct(Vector(repeating: a), loadVector(x + i))
        storeVector(v, y + i)
        i += vectorWidth
    }
    while i < n { y[i] += a * x[i]; i += 1 }
}

/// e^x lane by lane (Cephes `expf` scheme: x = n ln2 + r, |r| ≤ ln2/2, degree-6 polynomial
/// for e^r, times 2^n built in the exponent bits). Relative error about 2 ulp; inputs are
/// clamped to [-87.3, 88.7], so e^x of very negative x is about 1e-38, not 0.
@inline(__always) @usableFromInline
func vectorExp(_ x: Vector) -> Vector {
    var x = x
    x.replace(with: -87.3, where: x .< -87.3)
    x.replace(with: 88.7, where: x .> 88.7)
    // Round x·log2(e) to the nearest integer by adding 1.5·2^23: the integer then sits in the
    // low mantissa bits, so both n (as float) and n (as int) come without conversions.
    let shifted = x * 1.442_695_04 + 12_582_912
    let n = shifted - 12_582_912
    var r = x - n * 0.693_359_375
    r = r + n * 2.121_944_4e-4
    var p = Vector(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    p = p * (r * r) + r + 1
    let integer = unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000
    let exponent = (integer &+ 127) &<< 23
    return p * unsafeBitCast(exponent, to: Vector.self)
}

/// Scalar e^x with the same polynomial as `vectorExp`, for tails, so a value does not
/// depend on whether it fell in the vector part or the tail.
@inline(__always) @usableFromInline
func scalarExp(_ x: Float) -> Float {
    vectorExp(Vector(repeating: x))[0]
}
