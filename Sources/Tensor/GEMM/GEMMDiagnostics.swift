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
    static let interestingFeatures = [
        "sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw",
        "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
    ]

    /// Collects the findings (cheap: reads settings and /proc/cpuinfo, no timing).
    public static func collect() -> GEMMDiagnostics {
        var lines: [Line] = []
        let backend = GEMM.backend
        let forced = ProcessEnvironment.value(GEMM.backendEnvironmentVariable)
        lines.append(
            Line(
                label: "GEMM path",
                value: backend.description
                    + (forced.map { " (\(GEMM.backendEnvironmentVariable)=\($0))" } ?? " (automatic)")))
        if let problem = GEMM.environmentProblem {
            lines.append(
                Line(
                    label: "environment", value: problem.description,
                    advice: "fix or unset \(GEMM.backendEnvironmentVariable) / \(GEMM.threadsEnvironmentVariable)"))
        }
        lines.append(
            Line(
                label: "threads",
                value: "GEMM \(GEMM.threadCount), other kernels \(Parallel.threadCount) "
                    + "(of \(ProcessEnvironment.activeCores) online cores)"))
        if let blas = OpenBLAS.library {
            var value = "loaded from \(blas.fileName)"
            if let core = blas.coreName { value += ", kernels for \(core)" }
            if let threads = blas.threadCount { value += ", \(threads) threads" }
            if let configuration = blas.configuration { value += " [\(configuration.trimmingSpaces)]" }
            let coreType = ProcessEnvironment.value("OPENBLAS_CORETYPE")
            lines.append(
                Line(
                    label: "OpenBLAS", value: value,
                    advice: coreType.map {
                        "OPENBLAS_CORETYPE=\($0) pins OpenBLAS to that kernel set; "
                            + "on this CPU unsetting it may be faster (check with `cadenza-bench gemm`)"
                    }))
        } else {
            lines.append(
                Line(
                    label: "OpenBLAS", value: "not found (tried \(OpenBLAS.searchedNames.joined(separator: ", ")))",
                    advice: "optional: `apt-get install libopenblas0-pthread` (or libopenblas-dev) "
                        + "to add the OpenBLAS path; the pure-Swift path is used meanwhile"))
        }
        let cpu = CPUInfo.read()
        lines.append(
            Line(
                label: "CPU",
                value: (cpu.modelName ?? "unknown")
                    + (cpu.family.map { ", family \($0)" } ?? "") + (cpu.model.map { " model \($0)" } ?? "")
                    + (cpu.microarchitecture.map { " (\($0))" } ?? "")))
        let present = interestingFeatures.filter { cpu.flags.contains($0) }
        lines.append(Line(label: "CPU features", value: present.isEmpty ? "unknown" : present.joined(separator: " ")))
        let build = BuildTarget.current
        lines.append(
            Line(
                label: "built for", value: build.description,
                advice: !build.vectorized
                    ? "rebuild with `-target-cpu native` (Package.swift's hot settings): without it SIMD code is scalar"
                    : nil))
        let integerDefault = "generation's default; int4 where a model measured that it costs nothing, or by hand"
        lines.append(
            Line(
                label: "decoding",
                value: DecoderMatrix.Precision.int8UsesVNNI
                    ? "int8 weights with the AVX-512 VNNI kernel (\(integerDefault))"
                    : DecoderMatrix.Precision.int8UsesAVX2
                        ? "int8 weights with the AVX2 kernel (\(integerDefault))"
                        : "float16 weights (generation's default; int8 would run a plain loop here, without AVX2)"))
        lines.append(
            Line(
                label: "bfloat16",
                value: BFloat16GEMM.path == .avx512BF16
                    ? "AVX-512 BF16 products for `train --precision bf16`"
                    : "no bfloat16 unit in use: `train --precision bf16` trains in float32 here",
                advice: BFloat16GEMM.path == .plain && CPUInfo.read().flags.contains("amx_bf16")
                    ? "this CPU has AMX tiles, which Cadenza does not use yet" : nil))
        lines.append(
            Line(
                label: "float16",
                value: Float16GEMM.path == .avx512FP16
                    ? "AVX-512 FP16 products for `train --precision fp16`"
                    : "no float16 unit in use: `train --precision fp16` trains in float32 here"))
        return GEMMDiagnostics(lines: lines)
    }
}
