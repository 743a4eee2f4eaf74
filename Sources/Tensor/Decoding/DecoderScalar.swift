/// A storage type for decoder weights and caches, read as float32: float32, float16, or (for
/// an int4 decoder's cache) 8-bit integers that a per-row scale turns into values.
protocol DecoderScalar {
    /// 16 consecutive values at `p` as float32.
    static func load16(_ p: UnsafePointer<Self>) -> SIMD16<Float>
    /// One value as float32.
    static func widen(_ x: Self) -> Float
}

/// A float storage type, which a float32 value narrows to directly.
protocol DecoderFloat: DecoderScalar {
    /// The nearest value to `x`.
    init(narrowing x: Float)
}

extension Float: DecoderFloat {
    @inline(__always) init(narrowing x: Float) { self = x }
    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inline(__always) static func widen(_ x: Float) -> Float { x }
}

extension Float16: DecoderFloat {
    @inline(__always) init(narrowing x: Float) { self.init(x) }
    /// Element by element: LLVM folds it into one `vcvtph2ps` (the generic
    /// `SIMD16<Float>(SIMD16<Float16>)` initialiser was left as a call, far slower:
    /// docs/tensor-kernels.md).
    @inline(__always) static func load16(_ p: UnsafePointer<Float16>) -> SIMD16<Float> {
        let h = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float16>.self)
        var f = SIMD16<Float>()
        for i in 0..<16 { f[i] = Float(h[i]) }
        return f
    }
    @inline(__always) static func widen(_ x: Float16) -> Float { Float(x) }
}

extension Int8: DecoderScalar {
    /// Element by element, which LLVM folds into a sign extension and one conversion
    /// (`vpmovsxbd`, `vcvtdq2ps`).
    @inline(__always) static func load16(_ p: UnsafePointer<Int8>) -> SIMD16<Float> {
        let b = UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Int8>.self)
        var f = SIMD16<Float>()
        for i in 0..<16 { f[i] = Float(b[i]) }
        return f
    }
    @inline(__always) static func widen(_ x: Int8) -> Float { Float(x) }
}
