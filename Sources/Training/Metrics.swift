import Basics
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One line of a run's `metrics.jsonl`.
public struct MetricsRecord: Codable, Equatable, Sendable {
    /// `train` (one update) or `validation`.
    public var kind: String
    /// Updates taken when it was recorded.
    public var step: Int
    /// Epoch (0-based).
    public var epoch: Int
    /// Mean cross-entropy, nats per token.
    public var loss: Double
    /// Learning rate of the update (train only).
    public var learningRate: Double?
    /// Gradient norm before clipping (train only).
    public var gradientNorm: Double?
    /// Training tokens per second over the recent updates (train only).
    public var tokensPerSecond: Double?
    /// Training tokens read so far.
    public var tokensSeen: Int
    /// Seconds of training so far.
    public var elapsedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case kind, step, epoch, loss
        case learningRate = "lr", gradientNorm = "grad_norm", tokensPerSecond = "tokens_per_second"
        case tokensSeen = "tokens_seen", elapsedSeconds = "elapsed_s"
    }
}

/// The metrics log of a run: JSON lines appended to `RUN/metrics.jsonl`.
public struct MetricsLog {
    /// The log file.
    public let url: URL

    /// The log of the run in `run`.
    public init(run: URL) { url = run.appendingPathComponent("metrics.jsonl") }

    /// Appends `record` as one line.
    public func append(_ record: MetricsRecord) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(record)
        line.append(0x0A)
        // A signal waits for the whole line; `read()` skips a line cut by a crash all the same.
        try Interruption.whileWriting {
            if !FileManager.default.fileExists(atPath: url.path) {
                try AtomicFile.write(line, to: url)
                return
            }
            let handle = try FileHandle(forWritingTo: url)
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: line)
        }
    }

    /// Every record, in order; lines that do not parse (a line cut by a crash) are skipped.
    public func read() throws -> [MetricsRecord] {
        guard FileManager.default.fileExists(atPath: url.path) else { return [] }
        let decoder = JSONDecoder()
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").compactMap {
            try? decoder.decode(MetricsRecord.self, from: Data($0.utf8))
        }
    }

    /// Drops the records after `step` (a resumed run redoes those updates).
    public func truncate(after step: Int) throws {
        let kept = try read().filter { $0.step <= step }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var data = Data()
        for record in kept {
            data.append(try encoder.encode(record))
            data.append(0x0A)
        }
        try AtomicFile.write(data, to: url)
    }
}

/// Prints training progress: on a terminal, one live line rewritten in place (at most four
/// times a second); otherwise a plain line every `every` updates. Both show step, epoch,
/// loss and perplexity (mean since the last plain line), tokens/s, learning rate, gradient
/// norm and the estimated time left.
public final class ProgressPrinter {
    /// Whether output is a terminal (live line) or not (plain lines).
    public let isTerminal: Bool
    /// Updates between plain lines.
    public let every: Int
    private let write: (String) -> Void
    private var lossSum = 0.0, lossCount = 0
    private var windowTokens = 0, windowSeconds = 0.0
    private var lastLive = Date.distantPast
    private var liveShown = false

    /// A printer writing to standard output; `isTerminal` defaults to whether it is a TTY.
    public init(every: Int = 10, isTerminal: Bool? = nil, write: ((String) -> Void)? = nil) {
        self.every = max(1, every)
        self.isTerminal = isTerminal ?? (isatty(STDOUT_FILENO) == 1)
        self.write =
            write ?? { text in
                FileHandle.standardOutput.write(Data(text.utf8))
            }
    }

    /// A line of its own (clears the live line first).
    public func message(_ text: String) {
        if liveShown { write("\r\u{1B}[K"); liveShown = false }
        write(text + "\n")
    }

    /// Reports one update; returns the tokens/s of the current window.
    @discardableResult
    public func update(
        step: Int, steps: Int, epoch: Int, loss: Double, learningRate: Float, gradientNorm: Double,
        tokens: Int, seconds: Double
    ) -> Double {
        lossSum += loss; lossCount += 1
        windowTokens += tokens; windowSeconds += seconds
        let rate = windowSeconds > 0 ? Double(windowTokens) / windowSeconds : 0
        let meanLoss = lossSum / Double(max(lossCount, 1))
        let secondsPerStep = windowSeconds / Double(max(lossCount, 1))
        let line =
            String(
                format: "step %d/%d  epoch %d  loss %.4f  ppl %.2f  %.0f tok/s  lr %.2e  |g| %.3f  ETA ",
                step, steps, epoch + 1, meanLoss, exp(meanLoss), rate, Double(learningRate), gradientNorm)
            + Self.duration(Double(steps - step) * secondsPerStep)
        let now = Date()
        if isTerminal && (now.timeIntervalSince(lastLive) >= 0.25 || step == steps) {
            write("\r\u{1B}[K" + line)
            liveShown = true
            lastLive = now
        }
        if step % every == 0 || step == steps {
            if isTerminal { write("\n"); liveShown = false } else { write(line + "\n") }
            lossSum = 0; lossCount = 0; windowTokens = 0; windowSeconds = 0
        }
        return rate
    }

    /// `h:mm:ss`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "?" }
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d:%02d", s / 3600, (s / 60) % 60, s % 60)
    }
}
