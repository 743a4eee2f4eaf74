import ArgumentParser
import Basics
import Foundation

/// The `cadenza` command: learn music from MIDI files and write new music as MIDI.
///
/// Exit statuses, the same for every command (docs/limits.md): 0 success; 1 a failure while
/// working, or some of many files failed; 64 a wrong flag or value (with the command's usage);
/// 130 (143) stopped by Ctrl-C (SIGTERM), with every file written either complete or absent.
@main
struct Cadenza: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cadenza",
        abstract: "Learn music from MIDI files and write new music as MIDI.",
        version: "0.1.0",
        subcommands: [
            // Each command lives in its own file in this folder; add new ones to this list.
            TokenizeCommand.self,
            DetokenizeCommand.self,
            ImportCommand.self,
            Doctor.self,
            Inspect.self,
            ModelInfo.self,
            PlotCommand.self,
            PlotLossCommand.self,
            RenderCommand.self,
            EvalCommand.self,
            MetricsCommand.self,
            GenerateCommand.self,
            TrainCommand.self,
            ExportCommand.self,
            FitStyleCommand.self,
            InfoCommand.self,
            StudioCommand.self,
        ]
    )

    /// Parses the command line and runs the command. Errors found while running are printed as
    /// one line (a `ValidationError` with the failing command's own usage); Ctrl-C is handled
    /// by `Interruption` from the start, so no command leaves a half-written file.
    static func main() {
        Interruption.install()
        var command: ParsableCommand
        do {
            command = try parseAsRoot(attachingNegativeValues(Array(CommandLine.arguments.dropFirst())))
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch let error as ValidationError {
            let name = type(of: command).configuration.commandName ?? "\(type(of: command))"
            printError(
                "Error: \(error.message)\nUsage: " + usageString(for: type(of: command))
                    + "\n  See 'cadenza \(name) --help' for more information.")
            Foundation.exit(ExitCode.validationFailure.rawValue)
        } catch  where String(reflecting: type(of: error)).hasPrefix("ArgumentParser.") {
            // Help, version and exit codes thrown while running: ArgumentParser prints them.
            exit(withError: error)
        } catch {
            printError("Error: \(describe(error))")
            Foundation.exit(EXIT_FAILURE)
        }
    }

    /// The options that take several values (`.upToNextOption`), by command.
    static let manyValueOptions = ["eval": ["--mem-len"]]

    /// `arguments` with the integers after an option of `manyValueOptions` written as
    /// `--option=value`, one per value, where one of them is negative. ArgumentParser reads `-1`
    /// after such an option as an option of its own and says the value is missing
    /// (swift-argument-parser issue 293); attached, it is a value, which the command's range check
    /// then refuses by name. Arguments after `--` are left as they are.
    static func attachingNegativeValues(_ arguments: [String]) -> [String] {
        guard let command = arguments.first, let options = manyValueOptions[command] else { return arguments }
        func isInteger(_ text: String) -> Bool { Int(text) != nil }
        var result: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--" {
                result += arguments[index...]
                break
            }
            index += 1
            guard options.contains(argument) else {
                result.append(argument)
                continue
            }
            let values = arguments[index...].prefix(while: isInteger)
            if values.contains(where: { $0.hasPrefix("-") }) {
                result += values.map { "\(argument)=\($0)" }
                index += values.count
            } else {
                result.append(argument)
            }
        }
        return result
    }

    /// One readable line for any error: Cadenza's own errors describe themselves; Foundation's
    /// are turned from their dump form into "cannot read/write PATH: reason".
    static func describe(_ error: Error) -> String {
        let bridged = error as NSError
        guard bridged.domain == NSCocoaErrorDomain || bridged.domain == NSPOSIXErrorDomain else { return "\(error)" }
        let path =
            bridged.userInfo[NSFilePathErrorKey] as? String
            ?? (bridged.userInfo[NSURLErrorKey] as? URL)?.path
        let reason =
            (bridged.userInfo[NSUnderlyingErrorKey] as? NSError)?.localizedDescription ?? bridged.localizedDescription
        let writing = (CocoaError.Code.fileWriteUnknown.rawValue...CocoaError.Code.fileWriteVolumeReadOnly.rawValue)
            .contains(bridged.code)
        guard let path else { return reason }
        return "cannot \(writing ? "write" : "read") \(path): \(reason)"
    }

    private static func printError(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
