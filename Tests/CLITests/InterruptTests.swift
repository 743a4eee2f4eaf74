import Foundation
import Tensor
import Testing

/// The Ctrl-C test: tokenize, generate, render, export and train, each interrupted with SIGINT
/// at seeded random moments over its typical run time, at least 50 times. Afterwards every
/// file is complete or absent, no hidden temporary is left, and the command exited with 0
/// (done before the signal) or 130; an interrupted training run's checkpoint still loads.
@Suite struct InterruptTests {
    static let tries = Int(ProcessInfo.processInfo.environment["CADENZA_INTERRUPT_TRIES"] ?? "") ?? 50

    /// A command to interrupt: its arguments, run in a fresh folder prepared by `setUp`.
    struct Case: Sendable {
        var name: String
        var arguments: [String]
        var setUp: @Sendable (URL) throws -> Void = { _ in }
        /// Extra checks of what an interrupted run left (the training checkpoint loads).
        var verify: @Sendable (URL, CLI.Outcome) throws -> [String] = { _, _ in [] }
    }

    /// Real music when the shared data is there (a corpus big enough that the signal lands
    /// mid-work), else generated pieces.
    static func songs(in folder: URL, count: Int) throws -> URL {
        let songs = folder.appendingPathComponent("songs")
        try FileManager.default.createDirectory(at: songs, withIntermediateDirectories: true)
        let shared = CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/data/pop909")
        let real = (try? FileManager.default.contentsOfDirectory(atPath: shared.path))?.filter { $0.hasSuffix(".mid") }
            .sorted()
        for i in 0..<count {
            if let real, real.count > i {
                try FileManager.default.copyItem(
                    at: shared.appendingPathComponent(real[i]),
                    to: songs.appendingPathComponent(real[i]))
            } else {
                try songs.appendingPathComponent("piece-\(i).mid").write(Fixture.scale(bars: 24 + i))
            }
        }
        return songs
    }

    static let cases: [Case] = [
        // The whole of POP909 read in place when present (long enough for signals to land in
        // the middle), else a small generated set.
        Case(
            name: "tokenize",
            arguments: [
                "tokenize", FileManager.default.fileExists(atPath: sharedSongs.path) ? sharedSongs.path : "songs",
                "--out",
                "tokens",
            ],
            setUp: { if !FileManager.default.fileExists(atPath: sharedSongs.path) { _ = try songs(in: $0, count: 30) } }
        ),
        Case(
            name: "generate",
            arguments: [
                "generate", "--count", "3", "--bars", "8", "--seed", "5", "--out", "takes",
                "--tokens-out", "takes",
            ]),
        Case(
            name: "render",
            arguments: ["render", "songs/\(firstSongName)", "--synth", "builtin", "--out", "piece.wav"],
            setUp: { _ = try songs(in: $0, count: 1) }),
        Case(
            name: "export",
            arguments: ["export", "--checkpoint", CommandLineTests.pretrained.path, "--out", "exported"]),
        Case(
            name: "train",
            arguments: [
                "train", "--data", "songs", "--preset", "tiny", "--steps", "6", "--save-every", "1",
                "--batch", "2", "--seg-len", "32", "--out", "run", "--cache", "cache",
                "--validation-ratio", "0.25", "--eval-every", "2",
            ],
            setUp: { _ = try songs(in: $0, count: 8) },
            verify: { folder, _ in
                guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("run/latest").path) else {
                    return []
                }
                let load = try CLI.run(
                    ["generate", "--checkpoint", "run", "--bars", "1", "--seed", "1", "--out", "check.mid"],
                    in: folder)
                return load.status == 0 ? [] : ["the checkpoint left behind does not load: \(load)"]
            }),
    ]

    static let sharedSongs = CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/data/pop909")

    /// The first shared song's name (or the generated one's).
    static var firstSongName: String {
        let shared = CLI.repository.deletingLastPathComponent().appendingPathComponent("shared/data/pop909")
        return (try? FileManager.default.contentsOfDirectory(atPath: shared.path))?.filter { $0.hasSuffix(".mid") }
            .sorted().first
            ?? "piece-0.mid"
    }

    @Test(arguments: cases.map(\.name))
    func interruptedCommandsLeaveEveryFileCompleteOrAbsent(_ name: String) throws {
        let command = try #require(Self.cases.first { $0.name == name })
        let root = try CLI.scratchFolder("interrupt-\(name)")
        // Its run time spreads the signals over the whole run: the fastest of three runs, since a
        // run slowed by other load would spread them past the end of the usual run (then too few
        // land mid-work, and the count below fails for a reason that is not the command's).
        var seconds = Double.infinity
        for run in 0..<3 {
            let first = root.appendingPathComponent("uninterrupted-\(run)")
            try FileManager.default.createDirectory(at: first, withIntermediateDirectories: true)
            try command.setUp(first)
            let start = Date()
            let whole = try CLI.run(command.arguments, in: first)
            seconds = min(seconds, Date().timeIntervalSince(start))
            #expect(whole.status == 0, "\(name) without a signal: \(whole)")
        }

        var random = SeededGenerator(seed: 130 + UInt64(name.utf8.count))
        var problems: [String] = [], stopped = 0
        for attempt in 0..<Self.tries {
            let folder = root.appendingPathComponent("try-\(attempt)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try command.setUp(folder)
            let delay = Double.random(in: 0..<(1.2 * seconds), using: &random)
            let outcome = try CLI.run(command.arguments, in: folder, timeout: 10 * seconds + 30, interruptAfter: delay)
            var found: [String] = []
            // SIGINT's default action may end a process that has not yet installed its handler
            // (nothing is written that early); any other signal, or a hang, is a failure.
            if outcome.timedOut || (outcome.signal != nil && outcome.signal != SIGINT) {
                found.append("ended by signal \(outcome.signal ?? 9)\(outcome.timedOut ? " (hung)" : "")")
            }
            if let status = outcome.status, status != 0 && status != 130 { found.append("exit status \(status)") }
            if outcome.status == 130 || outcome.signal == SIGINT { stopped += 1 }
            found += OutputChecks.partialFiles(under: folder).map { "left \($0)" }
            found += OutputChecks.incompleteFiles(under: folder)
            found += try command.verify(folder, outcome)
            if found.isEmpty {
                try? FileManager.default.removeItem(at: folder)
            } else {
                problems.append(
                    "try \(attempt), SIGINT after \(String(format: "%.3f", delay)) s: "
                        + found.joined(separator: "; ") + "\n  " + outcome.stderr.suffix(300))
            }
        }
        print(
            "interrupt \(name): \(Self.tries) tries over \(String(format: "%.2f", seconds)) s runs, \(stopped) stopped "
                + "by the signal"
        )
        let report =
            "\(problems.count) of \(Self.tries) interrupted \(name) runs went wrong:\n"
            + problems.prefix(10).joined(separator: "\n")
        #expect(problems.isEmpty, "\(report)")
        // Most signals must land mid-work, or the test proves little. Without the shared corpus,
        // tokenizing the small generated songs is over before most signals arrive.
        let quickByNature = name == "tokenize" && !FileManager.default.fileExists(atPath: Self.sharedSongs.path)
        if !quickByNature {
            #expect(
                stopped >= Self.tries / 4, "only \(stopped) of \(Self.tries) \(name) runs were stopped by the signal")
        }
    }
}
