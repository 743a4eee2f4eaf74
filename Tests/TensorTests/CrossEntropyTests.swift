import Testing
@testable import Tensor

@Suite struct CrossEntropyTests {
    @Test(arguments: [(5, 7, false), (9, 37, true), (4, 16, true)])
    func gradientMatchesFiniteDifferences(rows: Int, classes: Int, ignoring: Bool) {
        var check = GradientCheck(seed: UInt64(rows * classes))
        let logits = check.random([rows, classes], scale: 2)
        var targets: [Int32] = (0..<rows).map { _ in Int32(Int.random(in: 0..<classes, using: &check.generator)) }
        if ignoring { targets[1] = -100; targets[rows - 1] = -100 }
        let ignore: Int32? = ignoring ? -100 : nil
        let logp = Tensor(zeros: [rows, classes]), losses = Tensor(zeros: [rows])
        func loss() -> Double {
            targets.withUnsafeBufferPointer {
                Double(
                    CrossEntropy.forward(
                        logProbabilities: logp.pointer, losses: losses.pointer, logits: logits.const,
                        targets: $0.baseAddress!, rows: rows, classes: classes, ignoreIndex: ignore))
            }
        }
        let mean = loss()
        // The mean against a direct Double computation.
        var expected = 0.0, counted = 0
        for r in 0..<rows where targets[r] != -100 {
            var total = 0.0
            for c in 0..<classes { total += exp(Double(logits[r * classes + c])) }
            expected += log(total) - Double(logits[r * classes + Int(targets[r])])
            counted += 1
        }
        #expect(abs(mean - expected / Double(counted)) < 1e-5)
        if ignoring { #expect(losses[1] == 0) }
        let dLogits = Tensor(zeros: logits.shape)
        targets.withUnsafeBufferPointer {
            CrossEntropy.backward(
                dLogits: dLogits.pointer, logProbabilities: logp.const, targets: $0.baseAddress!,
                rows: rows, classes: classes, ignoreIndex: ignore)
        }
        if ignoring { #expect((0..<classes).allSatisfy { dLogits[classes + $0] == 0 }) }
        check.expectGradient(
            "dLogits", of: logits, analytic: dLogits, samples: 80, step: 1e-2,
            absolute: 2e-4, relative: 1e-2, loss: loss)
    }

    @Test func logProbabilitiesOfUniformLogitsAreMinusLogClasses() {
        let logits = Tensor(shape: [1, 20], values: Array(repeating: 3, count: 20))
        let losses = Tensor(zeros: [1])
        let targets: [Int32] = [4]
        let mean = targets.withUnsafeBufferPointer {
            // In place: the log-probabilities overwrite the logits.
            CrossEntropy.forward(
                logProbabilities: logits.pointer, losses: losses.pointer, logits: logits.const,
                targets: $0.baseAddress!, rows: 1, classes: 20)
        }
        #expect(abs(mean - logf(20)) < 1e-6)
        #expect(abs(logits[7] + logf(20)) < 1e-6)
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite struct ReLUTests {
    @Test func gradientMatchesFiniteDifferences() {
        var check = GradientCheck(seed: 21)
        let n = 41
        let x = check.random([n])
        // Keep inputs away from the kink at 0, where the derivative does not exist.
        for i in 0..<n where abs(x[i]) < 0.05 { x[i] = 0.5 }
        let probe = check.random([n]), out = Tensor(zeros: [n])
        func loss() -> Double {
            ReLU.forward(out: out.pointer, input: x.const, count: n)
            return GradientCheck.weightedSum(out, probe)
        }
        _ = loss()
        let dx = Tensor(zeros: [n])
        ReLU.backward(dInput: dx.pointer, dOut: probe.const, output: out.const, count: n)
        check.expectGradient("dInput", of: x, analytic: dx, samples: n, step: 1e-2, loss: loss)
        #expect((0..<n).contains { x[$0] < 0 } && (0..<n).allSatisfy { x[$0] >= 0 || out[$0] == 0 })
    }
}

@Suite struct DropoutTests {
    @Test func maskIsSeededScaledAndBackwardUsesIt() {
        let n = 10_001
        var g1 = SeededGenerator(seed: 4), g2 = SeededGenerator(seed: 4)
        let m1 = Tensor(zeros: [n]), m2 = Tensor(zeros: [n])
        Dropout.makeMask(m1.pointer, count: n, probability: 0.25, generator: &g1)
        Dropout.makeMask(m2.pointer, count: n, probability: 0.25, generator: &g2)
        #expect(m1.values == m2.values)
        let dropped = m1.values.filter { $0 == 0 }.count
        #expect(m1.values.allSatisfy { $0 == 0 || $0 == Float(1) / 0.75 })
        #expect(abs(Double(dropped) / Double(n) - 0.25) < 0.02, "dropped \(dropped) of \(n)")

        var check = GradientCheck(seed: 22)
        let x = check.random([n]), probe = check.random([n]), out = Tensor(zeros: [n])
        var g = SeededGenerator(seed: 4)
        Dropout.forward(out: out.pointer, input: x.const, mask: m1.pointer, count: n, probability: 0.25, generator: &g)
        #expect((0..<n).allSatisfy { out[$0] == x[$0] * m2[$0] })
        let dx = Tensor(zeros: [n])
        Dropout.backward(dInput: dx.pointer, dOut: probe.const, mask: m1.const, count: n)
        #expect((0..<n).allSatisfy { dx[$0] == probe[$0] * m1[$0] })
    }
}

@Suite struct SinusoidTests {
    @Test func sinesThenCosinesByDistanceWithClamp() {
        let width = 8, count = 6
        let out = Tensor(zeros: [count, width])
        Sinusoid.forward(out: out.pointer, count: count, width: width, clampLength: 4)
        for p in 0..<count {
            let distance = Double(min(p, 4))
            for k in 0..<(width / 2) {
                let f = pow(10_000.0, -Double(2 * k) / Double(width))
                #expect(abs(Double(out[p * width + k]) - sin(distance * f)) < 1e-6)
                #expect(abs(Double(out[p * width + width / 2 + k]) - cos(distance * f)) < 1e-6)
            }
        }
        #expect(out[0] == 0 && out[width / 2] == 1)  // distance 0: sin 0, cos 0
        // Descending order is the reference's pos_seq (K-1 … 0): the same rows reversed.
        let reversed = Tensor(zeros: [count, width])
        Sinusoid.forward(out: reversed.pointer, count: count, width: width, descending: true)
        let ascending = Tensor(zeros: [count, width])
        Sinusoid.forward(out: ascending.pointer, count: count, width: width)
        for p in 0..<count {
            for c in 0..<width { #expect(reversed[p * width + c] == ascending[(count - 1 - p) * width + c]) }
        }
    }
}
