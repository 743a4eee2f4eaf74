import Foundation

/// Another program run to completion, with its output collected: FluidSynth for `render`,
/// and the Python baselines of the benchmarks.
public enum Subprocess {
    /// What a finished program printed and how it ended.
    public struct Outcome: Sendable {
        /// The exit status (or the signal number when a signal ended it).
        public var status: Int32
        /// Everything written to standard output.
        public var output: Data
        /// Everything written to standard error.
        public var errors: Data
        /// True when `stopWhen` ended the program early.
        public var stopped = false

        /// Standard output as text.
        public var outputText: String { String(decoding: output, as: UTF8.self) }
        /// The last non-empty line of standard error, the usual place for a program's reason.
        public var lastErrorLine: String {
            String(decoding: errors, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
        }
    }

    /// A program that could not be started.
    public struct LaunchError: Error, CustomStringConvertible {
        /// The program.
        public var program: String
        /// Why it did not start.
        public var reason: String
        public var description: String { "could not start \(program): \(reason)" }
    }

    /// Runs `program` (a path, or a name looked up on PATH) with `arguments` and waits for it.
    /// `environment` adds variables to this process's, and a nil value removes one. Standard
    /// input is empty; both output streams are read at once, so a chatty program never blocks.
    /// With `stopWhen`, the program is ended (SIGTERM) as soon as it answers true (Ctrl-C).
    /// - Throws: `LaunchError` when the program cannot be started.
    public static func run(
        _ program: String, _ arguments: [String], environment: [String: String?] = [:],
        stopWhen: () -> Bool = { false }
    ) throws -> Outcome {
        let process = Process()
        if program.contains("/") {
            process.executableURL = URL(fileURLWithPath: program)
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [program] + arguments
        }
        var variables = ProcessInfo.processInfo.environment
        for (name, value) in environment { variables[name] = value }
        process.environment = variables
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        final class Collected: @unchecked Sendable { var output = Data(), errors = Data() }
        let collected = Collected()
        let readers = DispatchGroup()
        do { try process.run() } catch {
            throw LaunchError(program: program, reason: error.localizedDescription)
        }
        DispatchQueue.global().async(group: readers) {
            collected.output = output.fileHandleForReading.readDataToEndOfFile()
        }
        DispatchQueue.global().async(group: readers) {
            collected.errors = errors.fileHandleForReading.readDataToEndOfFile()
        }
        var stopped = false
        while process.isRunning {
            if !stopped && stopWhen() {
                process.terminate()
                stopped = true
            }
            usleep(5_000)
        }
        process.waitUntilExit()
        readers.wait()
        return Outcome(
            status: process.terminationStatus, output: collected.output, errors: collected.errors,
            stopped: stopped)
    }
}

extension String {
    /// This text padded with spaces to `width` characters, on the right (a left-aligned
    /// column) or, with `left`, on the left (right-aligned, for numbers). Longer text is left
    /// as it is. The benchmark and doctor tables use it.
    public func padding(_ width: Int, left: Bool = false) -> String {
        let pad = String(repeating: " ", count: Swift.max(0, width - count))
        return left ? pad + self : self + pad
    }
}
