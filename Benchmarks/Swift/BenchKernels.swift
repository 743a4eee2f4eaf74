import Basics
import ArgumentParser
import Foundation
import Tensor

/// `cadenza-bench kernels`: forward + backward time of LayerNorm, softmax and attention at
/// the `small` model's shapes (batch 16, segment 128, memory 128, d_model 256, 8 heads of 32),
/// plus the one-token generation step of attention. PyTorch runs the same kernels in the same
/// invocation (Benchmarks/kernels-torch.py), interleaved round by round so that load from
/// other processes hits both alike. Prints medians over rounds and the speed-up.
struct BenchKernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Time LayerNorm, softmax and attention (forward + backward) at the small model's shapes.")

    @Option(help: "Rounds to run; figures are medians over them.")
    var runs = 9

    @OptionGroup var threadOptions: BenchThreads

    @Option(help: "Python interpreter with torch for the baseline (e.g. a venv's bin/python).")
    var python = "python3"

    @Option(help: "The PyTorch baseline script.")
    var torchScript = BenchmarkFiles.script("kernels-torch.py")

    @Flag(help: "Skip the PyTorch baseline.")
    var noTorch = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
    }

    func run() throws {
        try threadOptions.apply()
        let threadCount = Parallel.threadCount
        print(
            "cadenza-bench kernels: \(runs) rounds, \(threadCount) threads, PyTorch baseline: "
                + (noTorch ? "off" : "\(python) \(torchScript)"))
        let benchmarks = KernelBenchmark.all()
        for benchmark in benchmarks { benchmark.body() }  // warm-up
        var ours = [[Double]](repeating: [], count: benchmarks.count)
        var theirs = [String: [Double]]()
        var torchProblem: String?
        for _ in 0..<runs {
            for (index, benchmark) in benchmarks.enumerated() {
                let start = DispatchTime.now().uptimeNanoseconds
                benchmark.body()
                ours[index].append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
            }
            if !noTorch && torchProblem == nil {
                switch TorchBaseline.run(python: python, script: torchScript, threads: threadCount) {
                case .success(let figures): for (name, ms) in figures { theirs[name, default: []].append(ms) }
                case .failure(let problem): torchProblem = problem.description
                }
            }
        }
        if let torchProblem { print("PyTorch baseline skipped: \(torchProblem)") }
        print(
            "kernel".padding(50) + "cadenza ms".padding(12, left: true) + "torch ms".padding(11, left: true)
                + "speed-up".padding(10, left: true))
        for (index, benchmark) in benchmarks.enumerated() {
            let mine = GEMMBenchmark.median(ours[index])
            var line = benchmark.name.padding(50) + String(format: "%.3f", mine).padding(12, left: true)
            if let figures = theirs[benchmark.name], !figures.isEmpty {
                let torch = GEMMBenchmark.median(figures)
                line +=
                    String(format: "%.3f", torch).padding(11, left: true)
                    + String(format: "%.1fx", torch / mine).padding(10, left: true)
            }
            print(line)
        }
    }
}

/// Runs Benchmarks/kernels-torch.py once (one timed repetition per kernel after a warm-up)
/// and reads its `name<TAB>median_ms<TAB>min_ms` lines.
enum TorchBaseline {
    struct Problem: Error, CustomStringConvertible {
        let description: String
    }

    static func run(python: String, script: String, threads: Int) -> Result<[String: Double], Problem> {
        // On a shared machine OpenMP's spinning workers lose their time slices and torch runs
        // far slower; passive waiting gives the baseline its best figures.
        let environment: [String: String?] =
            ProcessInfo.processInfo.environment["OMP_WAIT_POLICY"] == nil
            ? ["OMP_WAIT_POLICY": "PASSIVE"] : [:]
        let process: Subprocess.Outcome
        do {
            process = try Subprocess.run(
                python, [script, "--runs", "1", "--threads", "\(threads)"], environment: environment)
        } catch {
            return .failure(Problem(description: "\(error)"))
        }
        let data = process.output
        guard process.status == 0 else {
            return .failure(
                Problem(
                    description: "\(script) exited with \(process.status): \(process.lastErrorLine) "
                        + "(install torch in a venv and pass --python)"))
        }
        var figures: [String: Double] = [:]
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: "\t")
            if fields.count >= 2, let ms = Double(fields[1]) { figures[String(fields[0])] = ms }
        }
        return .success(figures)
    }
}

/// One timed workload: buffers are allocated when it is built, so the body only computes.
struct KernelBenchmark {
    let name: String
    let body: () -> Void

    static func all() -> [KernelBenchmark] {
        var generator = SeededGenerator(seed: 1)
        func random(_ count: Int, scale: Float = 1) -> Tensor {
            let t = Tensor(zeros: [count])
            for i in 0..<count { t[i] = generator.nextNormal() * scale }
            return t
        }
        let (B, T, M, H, d) = (16, 128, 128, 8, 32)
        let D = H * d, K = M + T, rows = B * T
        var list: [KernelBenchmark] = []

        // LayerNorm over [B·T, D].
        let x = random(rows * D), w = random(D), b = random(D), dy = random(rows * D)
        let y = Tensor(zeros: [rows * D]), mean = Tensor(zeros: [rows]), rstd = Tensor(zeros: [rows])
        let dx = Tensor(zeros: [rows * D]), dw = Tensor(zeros: [D]), db = Tensor(zeros: [D])
        list.append(
            KernelBenchmark(name: "layernorm fwd+bwd [\(rows)x\(D)]") {
                LayerNorm.forward(
                    out: y.pointer, mean: mean.pointer, rstd: rstd.pointer, input: x.pointer,
                    weight: w.pointer, bias: b.pointer, rows: rows, width: D)
                LayerNorm.backward(
                    dInput: dx.pointer, dWeight: dw.pointer, dBias: db.pointer, dOut: dy.pointer,
                    input: x.pointer, weight: w.pointer, mean: mean.pointer, rstd: rstd.pointer,
                    rows: rows, width: D)
            })

        // GELU over the GPT-2 feed-forward's inner activations [B·T, 4D].
        let g = random(rows * 4 * D), gy = Tensor(zeros: [rows * 4 * D]), gdy = random(rows * 4 * D)
        let gdx = Tensor(zeros: [rows * 4 * D])
        list.append(
            KernelBenchmark(name: "gelu fwd+bwd [\(rows)x\(4 * D)]") {
                GELU.forward(out: gy.pointer, input: g.pointer, count: rows * 4 * D)
                GELU.backward(dInput: gdx.pointer, dOut: gdy.pointer, input: g.pointer, count: rows * 4 * D)
            })

        // Softmax over attention's rows [B·H·T, K].
        let sRows = B * H * T
        let s = random(sRows * K), p = Tensor(zeros: [sRows * K]), dp = random(sRows * K),
            ds = Tensor(zeros: [sRows * K])
        list.append(
            KernelBenchmark(name: "softmax fwd+bwd [\(sRows)x\(K)]") {
                Softmax.forward(out: p.pointer, input: s.pointer, rows: sRows, width: K, scale: 0.17)
                Softmax.backward(
                    dInput: ds.pointer, dOut: dp.pointer, output: p.pointer, rows: sRows, width: K, scale: 0.17)
            })

        // Attention over a fused [B, K, 3D] projection, as the models call it.
        let qkv = random(B * K * 3 * D), dqkv = Tensor(zeros: [B * K * 3 * D])
        let r = random(K * D), u = random(D, scale: 0.1), v = random(D, scale: 0.1)
        let dr = Tensor(zeros: [K * D]), du = Tensor(zeros: [D]), dv = Tensor(zeros: [D])
        let out = Tensor(zeros: [rows * D]), dOut = random(rows * D), probabilities = Tensor(zeros: [B * H * T * K])
        func view(_ t: Tensor, _ offset: Int, memory: Int) -> HeadRows {
            HeadRows(base: t.pointer + memory * 3 * D + offset, rowStride: 3 * D, batchStride: K * 3 * D)
        }
        for relative in [true, false] {
            let shape = AttentionShape(batch: B, queries: T, memory: M, heads: H, headSize: d)
            let terms = relative ? RelativeTerms(r: r.pointer, u: u.pointer, v: v.pointer) : nil
            let grads = relative ? RelativeGradients(r: dr.pointer, u: du.pointer, v: dv.pointer) : nil
            let label = relative ? "relative (XL)" : "plain (GPT-2)"
            let keepAlive = [r, u, v, dr, du, dv]  // `terms` and `grads` hold raw pointers only
            list.append(
                KernelBenchmark(name: "attention \(label) fwd B\(B) T\(T) M\(M) H\(H)x\(d)") {
                    Attention.forward(
                        out: out.pointer, probabilities: probabilities.pointer,
                        q: view(qkv, 0, memory: M), k: view(qkv, D, memory: 0), v: view(qkv, 2 * D, memory: 0),
                        relative: terms, dropMask: nil, shape: shape)
                    withExtendedLifetime(keepAlive) {}
                })
            list.append(
                KernelBenchmark(name: "attention \(label) fwd+bwd") {
                    Attention.forward(
                        out: out.pointer, probabilities: probabilities.pointer,
                        q: view(qkv, 0, memory: M), k: view(qkv, D, memory: 0), v: view(qkv, 2 * D, memory: 0),
                        relative: terms, dropMask: nil, shape: shape)
                    Attention.backward(
                        dq: view(dqkv, 0, memory: M), dk: view(dqkv, D, memory: 0), dv: view(dqkv, 2 * D, memory: 0),
                        dRelative: grads, dOut: dOut.pointer, probabilities: probabilities.pointer,
                        q: view(qkv, 0, memory: M), k: view(qkv, D, memory: 0), v: view(qkv, 2 * D, memory: 0),
                        relative: terms, dropMask: nil, shape: shape)
                    withExtendedLifetime(keepAlive) {}
                })
        }

        // One generation step: batch 1, one query over 512 memory rows + itself, x100 steps.
        let G = 513
        let cache = random(G * 3 * D), rG = random(G * D), one = Tensor(zeros: [D]), pG = Tensor(zeros: [H * G])
        let step = AttentionShape(batch: 1, queries: 1, memory: G - 1, heads: H, headSize: d)
        list.append(
            KernelBenchmark(name: "attention XL step T1 M512 x100 (per 100 tokens)") {
                for _ in 0..<100 {
                    Attention.forward(
                        out: one.pointer, probabilities: pG.pointer,
                        q: HeadRows(base: cache.pointer + (G - 1) * 3 * D, rowStride: 3 * D, batchStride: 0),
                        k: HeadRows(base: cache.pointer + D, rowStride: 3 * D, batchStride: 0),
                        v: HeadRows(base: cache.pointer + 2 * D, rowStride: 3 * D, batchStride: 0),
                        relative: RelativeTerms(r: rG.pointer, u: u.pointer, v: v.pointer),
                        dropMask: nil, shape: step)
                }
            })
        return list
    }
}
