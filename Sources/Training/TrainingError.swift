import Foundation

/// Why training could not start, continue, or save; each case names what and where, and its
/// `description` says what to do about it.
public enum TrainingError: Error, CustomStringConvertible, Equatable {
    /// After skipping unreadable files, a split has too few tokens to train or validate on.
    case notEnoughData(split: String, tokens: Int, needed: Int, skipped: Int)
    /// A checkpoint folder is missing, incomplete, corrupt or truncated.
    case corruptCheckpoint(path: String, reason: String)
    /// A checkpoint belongs to another model or vocabulary than the one asked for.
    case incompatibleCheckpoint(path: String, reason: String)
    /// A checkpoint could not be written (disk full, permissions); the previous one is kept.
    case checkpointUnwritable(path: String, reason: String)
    /// The run folder already holds a run (use `--resume`, or another `--out`).
    case runExists(path: String)
    /// The loss became NaN or infinite at `step`; the last good checkpoint is kept at `kept`.
    case nonFiniteLoss(step: Int, loss: Float, kept: String?)
    /// An option has a value that cannot work.
    case invalidOption(name: String, value: String, rule: String)
    /// A style bias cannot be fitted: the model has no styles, or no training piece has one.
    case nothingToFit(reason: String)

    public var description: String {
        switch self {
        case let .notEnoughData(split, tokens, needed, skipped):
            return "the \(split) split has \(tokens) tokens, at least \(needed) are needed for one batch"
                + (skipped > 0 ? " (\(skipped) unreadable files were skipped)" : "")
                + "; add more MIDI files, lower --batch or --seg-len, or change the split ratios"
        case let .corruptCheckpoint(path, reason): return "checkpoint \(path) is unusable: \(reason)"
        case let .incompatibleCheckpoint(path, reason): return "checkpoint \(path) does not fit: \(reason)"
        case let .checkpointUnwritable(path, reason):
            return
                "cannot write checkpoint \(path): \(reason) (the previous checkpoint is kept; free disk space and "
                + "resume)"
        case let .runExists(path):
            return
                "\(path) already holds a run; continue it with `cadenza train --resume \(path)` or choose another --out"
        case let .nonFiniteLoss(step, loss, kept):
            return "loss became \(loss) at step \(step); training stopped"
                + (kept.map {
                    ". The last good checkpoint is kept in \($0); resume from it with a lower --lr or --clip"
                }
                    ?? " before any checkpoint was written; try a lower --lr or --clip")
        case let .invalidOption(name, value, rule): return "--\(name) \(value): \(rule)"
        case let .nothingToFit(reason): return "cannot fit a style bias: \(reason)"
        }
    }
}
