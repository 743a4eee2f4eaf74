import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The signal received (SIGINT or SIGTERM), 0 while none has been.
nonisolated(unsafe) private var requestedSignal: sig_atomic_t = 0
/// How many files are being written now (changed under `sectionLock`, read by the handler).
nonisolated(unsafe) private var writesInProgress: sig_atomic_t = 0
/// 1 when the running command checks `Interruption.isRequested` itself and stops cleanly.
nonisolated(unsafe) private var stopsHandledByCaller: sig_atomic_t = 0
private let sectionLock = NSLock()

/// Ctrl-C (SIGINT) and SIGTERM, handled so that no output is ever left half-written.
///
/// The rule, for every command: a signal that arrives while no file is being written ends the
/// process at once (exit status 128 + the signal number, 130 for Ctrl-C). A signal that arrives
/// while a file is being written (`whileWriting`) waits until that file is complete and in
/// place, then ends the process. A command that would rather stop on its own, to finish a
/// checkpoint or to say which files it finished, calls `handleStopsInCaller()` and checks
/// `isRequested` between units of work. A second signal ends the process at once whenever no
/// file is being written.
///
/// The handler only reads and writes `sig_atomic_t` flags and calls `_exit`, the few things a
/// signal handler may safely do.
public enum Interruption {
    /// Installs the handler for SIGINT and SIGTERM. The `cadenza` command calls it first thing.
    public static func install() {
        // A blocked signal mask is inherited across exec: a parent that blocks SIGINT (some
        // test runners and process launchers do) would otherwise make Ctrl-C do nothing.
        var unblock = sigset_t()
        sigemptyset(&unblock)
        sigaddset(&unblock, SIGINT)
        sigaddset(&unblock, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
        for s in [SIGINT, SIGTERM] {
            signal(s) { number in
                let second = requestedSignal != 0
                requestedSignal = number
                if writesInProgress == 0 && (second || stopsHandledByCaller == 0) { _exit(128 + number) }
            }
        }
    }

    /// From now on a signal only sets `isRequested` (outside file writes too): the caller
    /// checks it between units of work, finishes cleanly and exits with `exitStatus`.
    public static func handleStopsInCaller() { stopsHandledByCaller = 1 }

    /// Whether a stop was requested.
    public static var isRequested: Bool { requestedSignal != 0 }

    /// The signal number received (0 if none).
    public static var signalNumber: Int32 { requestedSignal }

    /// The conventional exit status after the signal received: 128 + its number.
    public static var exitStatus: Int32 { 128 + requestedSignal }

    /// Forgets a request (tests, or a new run in the same process).
    public static func reset() { requestedSignal = 0 }

    /// Requests a stop as a signal would, for code that handles stops itself (tests): the
    /// process is not ended.
    public static func request() {
        stopsHandledByCaller = 1
        requestedSignal = SIGINT
    }

    /// Runs `body`, which writes a file, so that a signal waits until it is done. When a
    /// signal is pending and the caller does not handle stops, the process ends before `body`
    /// starts or as soon as it (and every other write in progress) has finished.
    public static func whileWriting<T>(_ body: () throws -> T) rethrows -> T {
        sectionLock.lock()
        // A stop is pending and nothing is being written: end now, before this write starts.
        // While another write is in progress (an enclosing one on this thread, or one on
        // another thread) this one goes ahead; whichever finishes last ends the process.
        if requestedSignal != 0 && stopsHandledByCaller == 0 && writesInProgress == 0 { _exit(128 + requestedSignal) }
        writesInProgress += 1
        sectionLock.unlock()
        defer {
            sectionLock.lock()
            writesInProgress -= 1
            let endNow = writesInProgress == 0 && requestedSignal != 0 && stopsHandledByCaller == 0
            sectionLock.unlock()
            if endNow { _exit(128 + requestedSignal) }
        }
        return try body()
    }
}
