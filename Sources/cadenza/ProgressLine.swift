import Foundation
import Generation
#if canImport(Glibc)
    import Glibc
#endif

/// A one-line progress display on a terminal (bars, tokens, tokens/s), redrawn at most ten
/// times a second; silent when standard error is not a terminal.
final class ProgressLine {
    private let target: StopCondition, label: String
    private let enabled = isatty(STDERR_FILENO) != 0
    private var lastDraw = -1.0

    init(target: StopCondition, label: String) {
        self.target = target
        self.label = label
    }

    func update(_ p: GenerationProgress) {
        guard enabled, p.seconds - lastDraw >= 0.1 else { return }
        lastDraw = p.seconds
        let bars = target.bars.map { "bar \(min(p.bars, $0))/\($0)" } ?? "bar \(p.bars)"
        let tokens = target.tokens.map { "\(p.tokens)/\($0) tokens" } ?? "\(p.tokens) tokens"
        FileHandle.standardError.write(
            Data("\r\(label)\(bars) · \(tokens) · \(Int(p.tokensPerSecond)) tokens/s   ".utf8))
    }

    func finish() {
        if enabled && lastDraw >= 0 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}
