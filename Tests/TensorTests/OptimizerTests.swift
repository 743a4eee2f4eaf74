import Testing
@testable import Tensor

/// Adam/AdamW steps against values worked out by hand (in float64, from the update rule in
/// Optimizer.swift) for p0 = 1, gradients 0.5 then -0.25, lr 0.1, betas (0.9, 0.999), eps 1e-8.
/// Float32 arithmetic reproduces them to a few units in the last place: tolerance 1e-6.
struct OptimizerTests {
    /// Runs two steps on a one-element parameter and returns (p, m, v) after each.
    func twoSteps(_ configuration: Adam.Configuration, decays: Bool = true) -> [(Float, Float, Float)] {
        let value = Tensor(shape: [1], values: [1])
        let gradient = Tensor(zeros: [1])
        let adam = Adam(
            parameters: [OptimizedParameter(value: value, gradient: gradient, decays: decays)],
            configuration: configuration)
        var states: [(Float, Float, Float)] = []
        for g: Float in [0.5, -0.25] {
            gradient[0] = g
            adam.update(learningRate: 0.1)
            states.append((value[0], adam.firstMoments[0][0], adam.secondMoments[0][0]))
        }
        #expect(adam.step == 2)
        return states
    }

    func expectClose(_ actual: Float, _ expected: Double, _ what: String) {
        #expect(abs(Double(actual) - expected) <= 1e-6, "\(what): \(actual) vs \(expected)")
    }

    @Test func adamTwoStepsMatchHandComputation() {
        let states = twoSteps(.adam)
        // Step 1: m = 0.05, v = 0.00025; bias-corrected m/sqrt(v) = 1, so p = 1 - 0.1.
        expectClose(states[0].0, 0.900000002, "p1")
        expectClose(states[0].1, 0.05, "m1")
        expectClose(states[0].2, 0.00025, "v1")
        // Step 2: m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225,
        // p = 0.9 - 0.1 * (0.02 / 0.19) / sqrt(0.00031225 / 0.001999).
        expectClose(states[1].0, 0.8733662987078463, "p2")
        expectClose(states[1].1, 0.02, "m2")
        expectClose(states[1].2, 0.00031225, "v2")
    }

    @Test func adamWDecaysTheParameterOutsideTheMoments() {
        let states = twoSteps(.adamW(weightDecay: 0.01))
        // p is first shrunk by 1 - lr * wd = 0.999, then takes the same Adam step.
        expectClose(states[0].0, 0.899000002, "p1")
        expectClose(states[0].1, 0.05, "m1 (unaffected by decoupled decay)")
        expectClose(states[1].0, 0.8714672987058463, "p2")
    }

    @Test func adamWSkipsParametersMarkedNotToDecay() {
        let states = twoSteps(.adamW(weightDecay: 0.01), decays: false)
        expectClose(states[1].0, 0.8733662987078463, "p2 as plain Adam")
    }

    @Test func adamL2AddsTheDecayToTheGradient() {
        let states = twoSteps(Adam.Configuration(weightDecay: .l2(0.01)))
        // g1 = 0.5 + 0.01 * 1 = 0.51, so m1 = 0.051 and v1 = 0.0002601.
        expectClose(states[0].1, 0.051, "m1")
        expectClose(states[0].2, 0.0002601, "v1")
        expectClose(states[1].0, 0.8712293476231743, "p2")
    }

    @Test func restoredStateContinuesBitForBit() throws {
        var random = SeededGenerator(seed: 3)
        func makeParameters() -> [OptimizedParameter] {
            [[3, 5], [70_000]].map { shape in
                OptimizedParameter(value: Tensor(zeros: shape), gradient: Tensor(zeros: shape))
            }
        }
        let original = makeParameters(), resumed = makeParameters()
        for (a, b) in zip(original, resumed) {
            for i in 0..<a.value.count { a.value[i] = random.nextNormal(); b.value[i] = a.value[i] }
        }
        let gradients = (0..<3).map { _ in original.map { p in (0..<p.value.count).map { _ in random.nextNormal() } } }
        func setGradients(_ parameters: [OptimizedParameter], _ values: [[Float]]) {
            for (p, v) in zip(parameters, values) { for i in v.indices { p.gradient[i] = v[i] } }
        }
        let first = Adam(parameters: original, configuration: .adamW(weightDecay: 0.1))
        for step in 0..<3 { setGradients(original, gradients[step]); first.update(learningRate: 1e-3) }

        // Replay: one step, "checkpoint", restore into a fresh optimizer, two more steps.
        let warm = Adam(parameters: resumed, configuration: .adamW(weightDecay: 0.1))
        setGradients(resumed, gradients[0]); warm.update(learningRate: 1e-3)
        let second = Adam(parameters: resumed, configuration: .adamW(weightDecay: 0.1))
        try second.restore(step: warm.step, firstMoments: warm.firstMoments, secondMoments: warm.secondMoments)
        for step in 1..<3 { setGradients(resumed, gradients[step]); second.update(learningRate: 1e-3) }

        #expect(second.step == 3)
        for (a, b) in zip(original, resumed) { #expect(a.value.values == b.value.values) }
        for (a, b) in zip(first.secondMoments, second.secondMoments) { #expect(a.values == b.values) }
    }

    @Test func restoreRejectsStateOfAnotherModel() {
        let adam = Adam(pairs: [(Tensor(zeros: [2, 3]), Tensor(zeros: [2, 3]))])
        #expect(throws: OptimizerError.shapeMismatch(index: 0, expected: [2, 3], found: [3, 2])) {
            try adam.restore(step: 1, firstMoments: [Tensor(zeros: [3, 2])], secondMoments: [Tensor(zeros: [2, 3])])
        }
        #expect(throws: OptimizerError.parameterCountMismatch(expected: 1, found: 0)) {
            try adam.restore(step: 1, firstMoments: [], secondMoments: [])
        }
        #expect(throws: OptimizerError.invalidStep(-1)) {
            try adam.restore(step: -1, firstMoments: [Tensor(zeros: [2, 3])], secondMoments: [Tensor(zeros: [2, 3])])
        }
    }

    @Test func clippingScalesAllGradientsByTheGlobalNorm() {
        let a = Tensor(shape: [2], values: [3, 4]), b = Tensor(shape: [1], values: [12])
        // sqrt(9 + 16 + 144) = 13; clip to 6.5 halves everything (up to the 1e-6 guard).
        let norm = GradientClipping.clip([a, b], maxNorm: 6.5)
        #expect(norm == 13)
        #expect(abs(a[0] - 1.5) < 1e-6 && abs(a[1] - 2) < 1e-6 && abs(b[0] - 6) < 1e-6)
        // Below the limit nothing changes.
        let before = a.values + b.values
        #expect(abs(GradientClipping.clip([a, b], maxNorm: 100) - 6.5) < 1e-5)
        #expect(a.values + b.values == before)
    }

    @Test func globalNormSpansBlocksAndTails() {
        // 5,003 elements of 0.5 (two 4,096 blocks' worth of lanes and a scalar tail) plus [2].
        let big = Tensor(shape: [5003], values: Array(repeating: 0.5, count: 5003))
        let small = Tensor(shape: [1], values: [2])
        let expected = (5003 * 0.25 + 4.0).squareRoot()
        #expect(abs(GradientClipping.globalNorm([big, small]) - expected) < 1e-9)
    }
}

struct LearningRateScheduleTests {
    @Test func warmupThenCosineToZero() {
        let schedule = LearningRateSchedule.warmupCosine(peak: 1e-3, warmupSteps: 10, totalSteps: 110)
        #expect(abs(schedule.rate(atStep: 1) - 1e-4) < 1e-9)
        #expect(abs(schedule.rate(atStep: 5) - 5e-4) < 1e-9)
        #expect(schedule.rate(atStep: 10) == 1e-3)
        // A quarter of the way through the cosine: (1 + cos(pi/4)) / 2 = 0.853553...
        #expect(abs(schedule.rate(atStep: 35) - 0.8535534e-3) < 1e-9)
        #expect(abs(schedule.rate(atStep: 60) - 0.5e-3) < 1e-9)
        #expect(schedule.rate(atStep: 110) == 0)
        #expect(schedule.rate(atStep: 500) == 0)
        // Monotone decay after warm-up.
        let rates = (10...110).map { schedule.rate(atStep: $0) }
        #expect(zip(rates, rates.dropFirst()).allSatisfy { $0 >= $1 })
    }

    @Test func cosineFloorAndConstant() {
        let floored = LearningRateSchedule.warmupCosine(peak: 1, warmupSteps: 0, totalSteps: 100, floor: 0.1)
        #expect(abs(floored.rate(atStep: 50) - 0.55) < 1e-6)
        #expect(floored.rate(atStep: 100) == 0.1)
        let constant = LearningRateSchedule.constant(0.25)
        #expect([1, 7, 1_000_000].map { constant.rate(atStep: $0) } == [0.25, 0.25, 0.25])
        let warmConstant = LearningRateSchedule(peak: 2, warmupSteps: 4)
        #expect([1, 2, 4, 5, 99].map { warmConstant.rate(atStep: $0) } == [0.5, 1, 2, 2, 2])
    }
}
