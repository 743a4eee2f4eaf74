import Foundation
#if canImport(Glibc)
    import Glibc
#endif

/// Runs the built `cadenza` binary as a user would, and tells what it did.
enum CLI {
    /// What one run of the binary did.
    struct Outcome: CustomStringConvertible {
        /// The exit status, or nil when a signal ended it.
        var status: Int32?
        /// The signal that ended it, or nil when it exited.
        var signal: Int32?
        /// Whether it was killed for running past its time limit.
        var timedOut: Bool
        var stdout: String
        var stderr: String

        var description: String {
            "status \(status.map(String.init) ?? "-"), signal \(signal.map(String.init) ?? "-")"
                + (timedOut ? ", timed out" : "") + "\nstdout: \(stdout.prefix(2000))\nstderr: \(stderr.prefix(2000))"
        }
    }

    /// The `cadenza` binary: `CADENZA_BINARY`, else the one built beside the test bundle.
    static let binary: URL = {
        if let path = ProcessInfo.processInfo.environment["CADENZA_BINARY"] { return URL(fileURLWithPath: path) }
        let candidates = [
            Bundle.main.bundleURL,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        for folder in candidates {
            let url = folder.appendingPathComponent("cadenza")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug/cadenza")
    }()

    /// The repository root (for ../shared/data and the bundled model's sources).
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Runs `cadenza ARGUMENTS` (or `executable ARGUMENTS`) in `folder`, killing it after
    /// `timeout` seconds. With `interruptAfter`, SIGINT is sent after that many seconds (if it
    /// still runs). `whileRunning` is called with the process id every few milliseconds.
    static func run(
        _ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:],
        timeout: Double = 120, interruptAfter: Double? = nil, signal: Int32 = SIGINT, executable: URL? = nil,
        whileRunning: ((Int32) -> Void)? = nil
    ) throws -> Outcome {
        let process = Process()
        process.executableURL = executable ?? binary
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = folder }
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        // Read both pipes while the process runs, so that a chatty command never blocks.
        final class Collected: @unchecked Sendable { var out = Data(), err = Data() }
        let collected = Collected()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            collected.out = out.fileHandleForReading.readDataToEndOfFile(); group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            collected.err = err.fileHandleForReading.readDataToEndOfFile(); group.leave()
        }
        try process.run()
        let start = Date()
        var interrupted = false, timedOut = false
        while process.isRunning {
            let elapsed = Date().timeIntervalSince(start)
            if let interruptAfter, !interrupted, elapsed >= interruptAfter {
                kill(process.processIdentifier, signal)
                interrupted = true
            }
            if elapsed >= timeout {
                kill(process.processIdentifier, SIGKILL)
                timedOut = true
                break
            }
            whileRunning?(process.processIdentifier)
            usleep(2_000)
        }
        process.waitUntilExit()
        group.wait()
        let bySignal = process.terminationReason == .uncaughtSignal
        return Outcome(
            status: bySignal ? nil : process.terminationStatus,
            signal: bySignal ? process.terminationStatus : nil, timedOut: timedOut,
            stdout: String(decoding: collected.out, as: UTF8.self),
            stderr: String(decoding: collected.err, as: UTF8.self))
    }

    /// A new empty folder for one test's files, under this test process's scratch root, which
    /// is removed when the process exits (the runs' checkpoints and renders would otherwise pile
    /// up in the temporary folder, tens of megabytes per test).
    static func scratchFolder(_ name: String = "cli") throws -> URL {
        _ = removeScratchRootAtExit
        let folder = cliScratchRoot.appendingPathComponent("\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// Every file under `folder`, relative paths, sorted (hidden ones included).
    static func files(in folder: URL) -> [String] {
        guard let walker = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        var found: [String] = []
        for case let relative as String in walker {
            var isFolder: ObjCBool = false
            if FileManager.default.fileExists(
                atPath: folder.appendingPathComponent(relative).path, isDirectory: &isFolder),
                !isFolder.boolValue
            {
                found.append(relative)
            }
        }
        return found.sorted()
    }
}

/// Where this test process's scratch folders live (`CLI.scratchFolder`).
private let cliScratchRoot = FileManager.default.temporaryDirectory.appendingPathComponent(
    "cadenza-cli-tests-\(ProcessInfo.processInfo.processIdentifier)")

/// Registers, once, the removal of `cliScratchRoot` when the process exits.
private let removeScratchRootAtExit: Void = {
    atexit { try? FileManager.default.removeItem(at: cliScratchRoot) }
}()
