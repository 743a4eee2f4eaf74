import Foundation
import Testing
@testable import Training

@Suite struct ProgressTests {
    @Test func plainLinesEveryNUpdatesWithMeansSinceTheLastLine() {
        var out = ""
        let p = ProgressPrinter(every: 2, isTerminal: false) { out += $0 }
        p.update(step: 1, steps: 4, epoch: 0, loss: 2, learningRate: 1e-3, gradientNorm: 0.5, tokens: 100, seconds: 1)
        #expect(out.isEmpty)
        p.update(step: 2, steps: 4, epoch: 0, loss: 4, learningRate: 1e-3, gradientNorm: 0.5, tokens: 300, seconds: 1)
        #expect(out == "step 2/4  epoch 1  loss 3.0000  ppl 20.09  200 tok/s  lr 1.00e-03  |g| 0.500  ETA 0:00:02\n")
        p.message("validation")
        #expect(out.hasSuffix("ETA 0:00:02\nvalidation\n"))
    }

    @Test func aTerminalGetsOneLiveLineRewrittenInPlace() {
        var out = ""
        let p = ProgressPrinter(every: 10, isTerminal: true) { out += $0 }
        p.update(step: 1, steps: 10, epoch: 0, loss: 1, learningRate: 1e-3, gradientNorm: 1, tokens: 10, seconds: 1)
        #expect(out.hasPrefix("\r\u{1B}[Kstep 1/10") && !out.contains("\n"))
        p.message("note")
        #expect(out.hasSuffix("\r\u{1B}[Knote\n"))
        #expect(ProgressPrinter.duration(3725) == "1:02:05")
    }

    @Test func lossCurvesAverageTrainingStepsAndKeepValidation() throws {
        let run = Fixtures.temporaryFolder()
        let log = MetricsLog(run: run)
        for step in 1...10 {
            try log.append(
                MetricsRecord(
                    kind: "train", step: step, epoch: 0, loss: Double(step), tokensSeen: step, elapsedSeconds: 0))
        }
        try log.append(
            MetricsRecord(kind: "validation", step: 10, epoch: 0, loss: 0.5, tokensSeen: 10, elapsedSeconds: 0))
        let curves = try TrainingRun.lossCurves(run: run, points: 5)
        #expect(curves.train.map(\.step) == [2, 4, 6, 8, 10] && curves.train.map(\.loss) == [1.5, 3.5, 5.5, 7.5, 9.5])
        #expect(curves.validation.map(\.loss) == [0.5])
        try log.truncate(after: 4)
        #expect(try log.read().map(\.step) == [1, 2, 3, 4])
    }
}
