#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Set by the SIGINT/SIGTERM handler; read by the trainer between steps.
nonisolated(unsafe) private var interruptionSignal: sig_atomic_t = 0

/// Ctrl-C and SIGTERM as a request to stop: the handler only sets a flag, which the trainer
/// checks between steps, writes a checkpoint and returns. A second signal while the first is
/// being honoured ends the process at once (the checkpoint write is atomic, so that is safe).
public enum Interruption {
    /// Installs the handlers for SIGINT and SIGTERM.
    public static func install() {
        for s in [SIGINT, SIGTERM] {
            signal(s) { number in
                if interruptionSignal != 0 { _exit(128 + number) }
                interruptionSignal = number
            }
        }
    }

    /// Whether a stop was requested.
    public static var isRequested: Bool { interruptionSignal != 0 }

    /// The signal number received (0 if none).
    public static var signalNumber: Int32 { interruptionSignal }

    /// Forgets a request (tests, or a new run in the same process).
    public static func reset() { interruptionSignal = 0 }

    /// Requests a stop as a signal would (tests).
    public static func request() { interruptionSignal = SIGINT }
}
