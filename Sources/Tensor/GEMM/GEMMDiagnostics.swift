#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `cadenza doctor` reports about the GEMM engine: which path runs, with how many threads,
/// what the CPU offers and what this build uses of it.
public struct GEMMDiagnostics: Sendable {
    /// One finding: a label, the value, and advice when something can be improved.
    public struct Line: Sendable {
        /// What is reported ("GEMM path", "threads", ...).
        public var label: String
        /// The finding.
        public var value: String
        /// What to do about it, if anything.
        public var advice: String?
    }

    /// The findings in reading order.
    public var lines: [Line]

    /// SIMD-relevant CPU features the tensor engine can use, in the order reported.
    static let interestingFeatures = ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw",
                                      "avx512vl", "avx512_vnni", "avx512_bf16", "amx_tile"]

    /// Collects the findings (cheap: reads settings and /proc/cpuinfo, no timing).
    public static func collect() -> GEMMDiagnostics {
        var lines: [Line] = []
        let backend = GEMM.backend
        let forced = ProcessEnvironment.value(GEMM.backendEnvironmentVariable)
        lines.append(Line(label: "GEMM path", value: backend.description
                          + (forced.map { " (\(GEMM.backendEnvironmentVariable)=\($0))" } ?? " (automatic)")))
        if let problem = GEMM.environmentProblem {
            lines.append(Line(label: "environment", value: problem.description,
                              advice: "fix or unset \(GEMM.backendEnvironmentVariable) / \(GEMM.threadsEnvironmentVariable)"))
        }
        lines.append(Line(label: "threads", value: "GEMM \(GEMM.threadCount), other kernels \(Parallel.threadCount) "
                          + "(of \(ProcessEnvironment.activeCores) online cores)"))
        if let blas = OpenBLAS.library {
            var value = "loaded from \(blas.fileName)"
            if let core = blas.coreName { value += ", kernels for \(core)" }
            if let threads = blas.threadCount { value += ", \(threads) threads" }
            if let configuration = blas.configuration { value += " [\(configuration.trimmingSpaces)]" }
            let coreType = ProcessEnvironment.value("OPENBLAS_CORETYPE")
            lines.append(Line(label: "OpenBLAS", value: value,
                              advice: coreType.map { "OPENBLAS_CORETYPE=\($0) pins OpenBLAS to that kernel set; "
                                  + "on this CPU unsetting it may be faster (check with `cadenza bench gemm`)" }))
        } else {
            lines.append(Line(label: "OpenBLAS", value: "not found (tried \(OpenBLAS.searchedNames.joined(separator: ", ")))",
                              advice: "optional: `apt-get install libopenblas0-pthread` (or libopenblas-dev) "
                                  + "to add the OpenBLAS path; the pure-Swift path is used meanwhile"))
        }
        let cpu = CPUInfo.read()
        lines.append(Line(label: "CPU", value: (cpu.modelName ?? "unknown")
                          + (cpu.family.map { ", family \($0)" } ?? "") + (cpu.model.map { " model \($0)" } ?? "")))
        let present = interestingFeatures.filter { cpu.flags.contains($0) }
        lines.append(Line(label: "CPU features", value: present.isEmpty ? "unknown" : present.joined(separator: " ")))
        let build = BuildTarget.current
        lines.append(Line(label: "built for", value: build.description,
                          advice: !build.vectorized
                              ? "rebuild with `-target-cpu native` (Package.swift's hot settings): without it SIMD code is scalar"
                              : nil))
        lines.append(Line(label: "decoding", value: DecoderMatrix.Precision.int8UsesVNNI
                              ? "int8 weights with the AVX-512 VNNI kernel (generation's default)"
                              : "float16 weights (generation's default; int8 would run a plain loop here, without AVX-512 VNNI)"))
        return GEMMDiagnostics(lines: lines)
    }
}

/// Whether this build's SIMD code became vector instructions, found by speed: Swift has no
/// `#if targetFeature(...)`, and built without `-target-cpu` a `SIMD16<Float>` multiply-add
/// is lowered to sixteen `fmaf` calls (see docs/tensor-gemm.md), more than ten times slower than
/// the one or two vector instructions a `-target-cpu` build emits. The best of five short
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
            let nanoseconds = Double(elapsed.components.seconds) * 1e9
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

/// The CPU's model name and feature flags from /proc/cpuinfo (empty elsewhere).
struct CPUInfo {
    var modelName: String?
    /// "cpu family" and "model" (AMD family 25 is Zen 3/4, 26 is Zen 5).
    var family: String?, model: String?
    var flags: Set<String> = []

    static func read() -> CPUInfo {
        var info = CPUInfo()
        guard let file = fopen("/proc/cpuinfo", "r") else { return info }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        while getline(&line, &capacity, file) > 0, let line {
            let text = String(cString: line)
            let parts = text.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let key = parts[0].trimmingSpaces, value = parts[1].trimmingSpaces
            if key == "model name", info.modelName == nil { info.modelName = value }
            if key == "cpu family", info.family == nil { info.family = value }
            if key == "model", info.model == nil { info.model = value }
            if key == "flags", info.flags.isEmpty {
                info.flags = Set(value.split(separator: " ").map(String.init))
                break
            }
        }
        free(line)
        return info
    }
}

extension StringProtocol {
    var trimmingSpaces: String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\n" }.reversed())
    }
}
