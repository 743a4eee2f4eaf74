/// Whether this build's SIMD code became vector instructions, found by speed: Swift has no
/// `#if targetFeature(...)`, and built without `-target-cpu` a `SIMD16<Float>` multiply-add
/// is lowered to sixteen `fmaf` calls, far slower than the one or two vector instructions a
/// `-target-cpu` build emits (measured: docs/tensor-gemm.md). The best of five short
/// timed chains decides, so a preempted trial cannot mislead it.
struct BuildTarget: CustomStringConvertible {
    /// Nanoseconds per dependent 16-lane multiply-add + multiply (about 2 when vectorized).
    let nanosecondsPerStep: Double
    /// Whether the CPU has AVX-512 (then `-target-cpu native` builds use 512-bit registers).
    let cpuHasAVX512: Bool

    var vectorized: Bool { nanosecondsPerStep < 15 }

    static let current: BuildTarget = {
        let clock = ContinuousClock()
        var best = Double.infinity
        let steps = 20_000
        for _ in 0..<5 {
            var x = SIMD16<Float>(repeating: 1.0001)
            let y = SIMD16<Float>(repeating: 0.9999)
            let start = clock.now
            for _ in 0..<steps { x.addProduct(x, y); x = x * 0.5 }
            let elapsed = clock.now - start
            blackHole(x)
            let nanoseconds =
                Double(elapsed.components.seconds) * 1e9
                + Double(elapsed.components.attoseconds) * 1e-9
            best = min(best, nanoseconds / Double(steps))
        }
        return BuildTarget(nanosecondsPerStep: best, cpuHasAVX512: CPUInfo.read().flags.contains("avx512f"))
    }()

    var description: String {
        let timing = "\((nanosecondsPerStep * 10).rounded() / 10) ns per 16-lane step"
        if !vectorized { return "baseline x86-64: SIMD code is scalar (\(timing))" }
        return "-target-cpu build: SIMD16 code is vectorized"
            + (cpuHasAVX512 ? " on 512-bit AVX-512 registers" : "") + " (\(timing))"
    }

    @inline(never)
    static func blackHole(_ value: SIMD16<Float>) {
        if value[0] == .infinity { print("") }
    }
}
