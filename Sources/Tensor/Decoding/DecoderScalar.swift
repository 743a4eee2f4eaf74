/// A storage type for decoder weights and caches: float32 or float16, read as float32.
protocol DecoderScalar {
    /// The nearest value to `x`.
    init(narrowing x: Float)
    /// 16 consecutive values at `p` as float32.
    static func load16(_ p: UnsafePointer<Self>) -> SIMD16<Float>
    /// One value as float32.
    static func widen(_ x: Self) -> Float
}

extension Float: DecoderScalar {
    @inline(__always) init(narrowing x: Float) { self = x }
    @inline(__always) static func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
        UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
    }
    @inline(__always) static func widen(_ x: Float) -> Float { x }
}

extension Float16: DecoderScalar {
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
