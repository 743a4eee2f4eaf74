import Foundation
import Tensor
import Testing

/// A seeded command-line fuzz test: random combinations of every command's flags and values,
/// good and bad, over good, broken and mutated MIDI, token, config and model files. Each run
/// must end by exiting (0, 1 or 64), never by a signal or by hanging, and leave no
/// half-written file. The seed is fixed, so a failure reproduces; its command line is printed.
///
/// CI runs `CADENZA_FUZZ_RUNS` runs (default 2,000). A longer run:
/// `CADENZA_FUZZ_RUNS=20000 CADENZA_FUZZ_SEED=7 swift test --filter FuzzTests`.
@Suite struct FuzzTests {
    static let runs = Int(ProcessInfo.processInfo.environment["CADENZA_FUZZ_RUNS"] ?? "") ?? 2_000
    static let seed = UInt64(ProcessInfo.processInfo.environment["CADENZA_FUZZ_SEED"] ?? "") ?? 20_261_205

    /// The inputs every run draws from, made once in a scratch folder.
    struct Inputs {
        let folder: URL
        /// Paths of MIDI files: good, silent, broken and mutated.
        var midi: [String] = []
        /// Folders of MIDI files.
        var folders: [String] = []
        var tokens: [String] = []
        var vocabularies: [String] = []
        var tokenizerConfigs: [String] = []
        var modelConfigs: [String] = []
        /// Model folders: the bundled model, a tiny trained run, and broken copies.
        var models: [String] = []
        var missing: String { folder.appendingPathComponent("does/not/exist").path }
    }

    static func makeInputs(_ random: inout SeededGenerator) throws -> Inputs {
        let folder = try CLI.scratchFolder("fuzz-inputs")
        var inputs = Inputs(folder: folder)
        func write(_ name: String, _ data: Data) throws -> String {
            let url = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url)
            return url.path
        }
        let good = Fixture.scale(bars: 4)
        inputs.midi.append(try write("songs/good.mid", good))
        inputs.midi.append(try write("songs/long.mid", Fixture.scale(bars: 12)))
        for i in 0..<4 { _ = try write("songs/more-\(i).mid", Fixture.scale(bars: 16 + 4 * i)) }
        inputs.midi.append(try write("silent.mid", Fixture.silence()))
        inputs.midi.append(try write("far.mid", Fixture.midi([(60, 0, 480), (64, 0x0FFF_FFFF, 480)])))
        inputs.midi.append(try write("fine.mid", Fixture.midi([(60, 0, 1), (61, 1, 1)], ticksPerBeat: 1)))
        inputs.midi.append(try write("empty.mid", Data()))
        inputs.midi.append(try write("text.mid", Data("not a MIDI file".utf8)))
        for i in 0..<8 {
            var bytes = [UInt8](good)
            switch i % 4 {
            case 0: bytes = Array(bytes.prefix(Int.random(in: 0..<bytes.count, using: &random)))
            case 1:
                for _ in 0..<4 {
                    bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
                }
            case 2:
                bytes.insert(
                    contentsOf: (0..<6).map { _ in UInt8.random(in: 0...255, using: &random) },
                    at: Int.random(in: 14..<bytes.count, using: &random))
            default: bytes[12] = 0x7F; bytes[13] = 0xFF  // ticks per beat far out of the usual
            }
            inputs.midi.append(try write("mutated/m\(i).bad.mid", Data(bytes)))
        }
        inputs.folders = [folder.appendingPathComponent("songs").path, folder.appendingPathComponent("mutated").path]

        // Token files and their vocabulary, written by the binary itself.
        let tokenized = try CLI.run(
            ["tokenize", folder.appendingPathComponent("songs").path, "--out", "tokens"], in: folder)
        guard tokenized.status == 0 else { throw FuzzSetupError(step: "tokenize", outcome: tokenized) }
        let tokenFile = folder.appendingPathComponent("tokens/good.remi")
        inputs.tokens.append(tokenFile.path)
        let tokenBytes = [UInt8](try Data(contentsOf: tokenFile))
        inputs.tokens.append(try write("tokens/cut.bad.remi", Data(tokenBytes.prefix(tokenBytes.count / 2))))
        var flipped = tokenBytes
        flipped[20] ^= 0xFF
        inputs.tokens.append(try write("tokens/flipped.bad.remi", Data(flipped)))
        inputs.vocabularies = [
            folder.appendingPathComponent("tokens/vocab.json").path,
            try write("vocab.bad.json", Data(#"{"format": "cadenza-remi-vocabulary", "version": 1}"#.utf8)),
        ]

        inputs.tokenizerConfigs = [
            try write("configs/ok.json", Data(#"{"chords": false}"#.utf8)),
            try write("configs/unknown.bad.json", Data(#"{"chordz": false}"#.utf8)),
            try write("configs/type.bad.json", Data(#"{"ticksPerBeat": "x"}"#.utf8)),
            try write("configs/huge.bad.json", Data(#"{"durationSteps": 99999999999, "positionsPerBar": 0}"#.utf8)),
            try write("configs/list.bad.json", Data("[1, 2]".utf8)),
        ]
        inputs.modelConfigs = [
            try write(
                "models/tiny.json",
                Data(
                    (#"{"kind": "transformer-xl", "n_token": 368, "n_layer": 1, "n_head": 2, "d_model": 16, "#
                        + #""d_head": 8, "d_inner": 24, "tgt_len": 16, "mem_len": 16}"#).utf8)),
            try write(
                "models/huge.bad.json",
                Data(
                    (#"{"kind": "gpt2", "n_token": 368, "n_layer": 100000, "n_head": 2, "d_model": 16, "d_head": 8, "#
                        + #""d_inner": 24, "tgt_len": 16, "mem_len": 0}"#).utf8)),
            try write("models/misspelt.bad.json", Data(#"{"kind": "gpt2", "n_layers": 2}"#.utf8)),
        ]

        // Model folders: the bundled one, a tiny trained run, and broken copies of the bundle.
        let bundled = CommandLineTests.pretrained
        inputs.models.append(bundled.path)
        let trained = try CLI.run(
            [
                "train", "--data", folder.appendingPathComponent("songs").path, "--preset", "tiny",
                "--steps", "1", "--batch", "1", "--seg-len", "16", "--out", "run", "--no-cache",
                "--validation-ratio", "0.5",
            ], in: folder)
        guard trained.status == 0 else { throw FuzzSetupError(step: "train", outcome: trained) }
        inputs.models.append(folder.appendingPathComponent("run").path)
        for (name, damage) in [("cut", 0), ("config", 1), ("vocab", 2)] {
            let copy = folder.appendingPathComponent("broken-\(name)")
            try FileManager.default.copyItem(at: bundled, to: copy)
            switch damage {
            case 0:
                let weights = copy.appendingPathComponent("model.safetensors")
                try Data(try Data(contentsOf: weights).prefix(4_000)).write(to: weights)
            case 1:
                try Data(#"{"kind": "transformer-xl", "n_layer": 2}"#.utf8).write(
                    to: copy.appendingPathComponent("model.json"))
            default:
                try Data(try Data(contentsOf: URL(fileURLWithPath: inputs.vocabularies[1]))).write(
                    to: copy.appendingPathComponent("vocab.json"))
            }
            inputs.models.append(copy.path)
        }
        return inputs
    }

    struct FuzzSetupError: Error, CustomStringConvertible {
        var step: String, outcome: CLI.Outcome
        var description: String { "fuzz set-up: \(step) failed: \(outcome)" }
    }

    /// The seeded generator, shared by the value makers below (closures cannot capture an
    /// `inout` generator).
    final class Dice {
        var generator: SeededGenerator
        init(_ generator: SeededGenerator) { self.generator = generator }
        func pick<T>(_ items: [T]) -> T { items[Int.random(in: 0..<items.count, using: &generator)] }
        func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &generator) < p }
    }

    /// One random command line, to run in its own empty folder.
    static func commandLine(_ inputs: Inputs, _ dice: Dice) -> [String] {
        func pick<T>(_ items: [T]) -> T { dice.pick(items) }
        func chance(_ p: Double) -> Bool { dice.chance(p) }
        let badNumbers = ["-5", "0", "-1", "abc", "", "1e309", "nan", "99999999999999999999", "4.5"]
        // Mostly good values, so that runs get past the flags into the work; a bad one now and
        // then, so that every check is reached too.
        func number(_ good: [String]) -> String { chance(0.85) ? pick(good) : pick(badNumbers) }
        func path(_ good: [String]) -> String {
            chance(0.85)
                ? pick(good) : pick([inputs.missing, inputs.folder.path, pick(inputs.midi), pick(inputs.tokens)])
        }
        let midi = { path(inputs.midi) }, model = { path(inputs.models) }
        // Each command: its positional arguments, then its options with value makers.
        typealias Options = [(String, () -> String?)]
        let flag: () -> String? = { nil }
        let commands: [(String, () -> [String], Options)] = [
            (
                "inspect", { [midi()] + (chance(0.3) ? [pick(inputs.folders)] : []) },
                [("--json", flag), ("--threads", { number(["1", "2"]) })]
            ),
            (
                "tokenize", { [chance(0.5) ? midi() : pick(inputs.folders)] },
                [
                    ("--out", { pick(["tokens", "t/../t2", inputs.missing, pick(inputs.midi)]) }),
                    ("--config", { path(inputs.tokenizerConfigs) }),
                    ("--json", flag), ("--print", flag), ("--overwrite", flag), ("--threads", { number(["1", "2"]) }),
                ]
            ),
            (
                "detokenize", { [path(inputs.tokens)] },
                [
                    ("--out", { pick(["out.mid", inputs.missing + "/x.mid", inputs.folder.path]) }),
                    ("--vocab", { path(inputs.vocabularies) }),
                ]
            ),
            (
                "plot", { [midi()] },
                [
                    ("--out", { pick(["roll.png", inputs.missing + "/x.png"]) }),
                    ("--width", { number(["300", "640", "20000", "20001"]) }),
                ]
            ),
            (
                "render", { [midi()] },
                [
                    ("--out", { pick(["out.wav", inputs.missing + "/x.wav"]) }),
                    ("--synth", { pick(["builtin", "builtin", "auto", "organ"]) }),
                    ("--max-minutes", { number(["1", "60", "181"]) }),
                ]
            ),
            (
                "metrics", { [midi()] + (chance(0.3) ? [midi()] : []) },
                [
                    ("--json", flag), ("--compare", flag), ("--split", { pick(["test", "train", "bogus"]) }),
                    ("--validation-ratio", { number(["0.1", "0.5", "1.5"]) }),
                ]
            ),
            (
                "generate", { [] },
                [
                    ("--bars", { number(["1", "2", "3"]) }),
                    ("--checkpoint", model), ("--prompt", midi), ("--prompt-bars", { number(["1", "2", "8"]) }),
                    ("--temperature", { number(["1", "0.5", "1.4"]) }), ("--top-k", { number(["0", "5"]) }),
                    ("--top-p", { number(["0.9", "1"]) }), ("--seed", { number(["1", "2"]) }),
                    ("--count", { number(["1", "2"]) }),
                    ("--out", { pick(["g.mid", "takes", inputs.missing + "/g.mid"]) }),
                    ("--tokens-out", { pick(["g.remi", "g.txt", "tk"]) }), ("--mem-len", { number(["16", "64"]) }),
                    ("--precision", { pick(["int8", "int4", "float16", "float32"]) }), ("--no-grammar", flag),
                    ("--allow-end", flag),
                    ("--threads", { number(["1", "2"]) }),
                ]
            ),
            (
                "eval", { [] },
                [
                    ("--checkpoint", model), ("--data", { chance(0.5) ? pick(inputs.folders) : midi() }),
                    ("--split", { pick(["all", "all", "test"]) }), ("--mem-len", { number(["16", "32"]) }),
                    ("--max-tokens", { number(["64", "200"]) }), ("--batch", { number(["1", "2"]) }),
                    ("--no-cache", flag), ("--json", flag),
                    ("--plot", { pick(["sweep.png", inputs.missing + "/s.png"]) }),
                    ("--decoder-precision", { pick(["int8", "int4", "float32"]) }), ("--clamp-len", { number(["8"]) }),
                ]
            ),
            (
                "train", { [] },
                [
                    ("--data", { chance(0.9) ? inputs.folders[0] : pick([midi(), inputs.folders[1]]) }),
                    ("--out", { pick(["run", "run", inputs.missing + "/run"]) }),
                    ("--model", { pick(["txl", "gpt2", "gpt-2"]) }), ("--preset", { pick(["tiny"]) }),
                    ("--steps", { number(["1", "2"]) }), ("--batch", { number(["1", "2"]) }),
                    ("--seg-len", { number(["8", "16"]) }), ("--mem-len", { number(["0", "8"]) }),
                    ("--config", { path(inputs.modelConfigs) }),
                    ("--tokenizer-config", { path(inputs.tokenizerConfigs) }),
                    ("--init-from", model), ("--lr", { number(["0.001"]) }), ("--no-cache", flag),
                    ("--validation-ratio", { number(["0.5", "0.1"]) }), ("--eval-tokens", { number(["16", "64"]) }),
                    ("--threads", { number(["1", "2"]) }),
                ]
            ),
            (
                "train",
                { ["--resume", pick([inputs.models[0], inputs.models[2], inputs.missing, inputs.folder.path])] },
                [("--steps", { number(["1"]) }), ("--threads", { number(["1"]) })]
            ),
            (
                "model-info", { [] },
                [
                    ("--model", { pick(["txl", "gpt2", "rnn"]) }), ("--preset", { pick(["tiny", "small", "large"]) }),
                    ("--vocabulary", { number(["368", "2", "70000"]) }), ("--config", { path(inputs.modelConfigs) }),
                ]
            ),
            (
                "export", { [] },
                [
                    ("--checkpoint", model),
                    ("--out", { pick(["exported", inputs.missing + "/e", pick(inputs.midi)]) }),
                    ("--float16", flag),
                ]
            ),
            (
                "plot-loss", { [pick([inputs.models[1], inputs.folder.path, inputs.missing])] },
                [
                    ("--out", { pick(["loss.png", inputs.missing + "/l.png"]) }),
                    ("--width", { number(["300", "10001"]) }),
                    ("--height", { number(["200", "50"]) }),
                ]
            ),
            (
                "fit-style", { [] },
                [
                    ("--checkpoint", model), ("--data", { chance(0.5) ? pick(inputs.folders) : midi() }),
                    ("--out", { pick(["styled", inputs.missing + "/s", pick(inputs.midi)]) }),
                    ("--tokens", { number(["16", "0"]) }), ("--pieces", { number(["1", "0"]) }),
                    ("--style-l2", { number(["0.01", "-1", "nan"]) }), ("--threads", { number(["1"]) }),
                ]
            ),
            ("info", { [] }, []),
            ("doctor", { ["--no-probe"] }, []),
        ]
        let (name, positionals, options) = pick(commands)
        var arguments = [name]
        if chance(0.95) { arguments += positionals() }
        // Required options are given most of the time, and --bars too (without it a piece
        // has 16 bars, which costs time and finds nothing more); the rest now and then.
        let often: Set<String> = ["--out", "--checkpoint", "--data", "--bars"]
        for (option, value) in options where chance(often.contains(option) ? 0.85 : 0.2) {
            arguments.append(option)
            if let value = value() { arguments.append(value) }
        }
        if chance(0.03) { arguments.append(pick(["--bogus", "-x", "--", "--out"])) }
        // A valid evaluation reads the bundled model through the debug build: without a token
        // limit it sweeps every memory length over every file, which takes minutes, not seconds.
        if name == "eval" && !arguments.contains("--max-tokens") { arguments += ["--max-tokens", "256"] }
        // A valid training run is a real one: keep it to a tiny model and a couple of updates.
        if name == "train" {
            if !arguments.contains("--steps") && !arguments.contains("--resume") { arguments += ["--steps", "2"] }
            if !arguments.contains("--batch") && !arguments.contains("--resume") { arguments += ["--batch", "2"] }
            if !["--preset", "--config", "--init-from", "--resume"].contains(where: arguments.contains) {
                arguments += ["--preset", "tiny"]
            }
        }
        return arguments
    }

    @Test func randomCommandLinesNeverCrashHangOrLeaveHalfWrittenFiles() throws {
        var random = SeededGenerator(seed: Self.seed)
        let inputs = try Self.makeInputs(&random)
        let dice = Dice(random)
        let lines = (0..<Self.runs).map { _ in Self.commandLine(inputs, dice) }
        final class Failures: @unchecked Sendable {
            var lines: [String] = []
            var statuses: [String: Int] = [:]
            let lock = NSLock()
            func add(_ line: String) { lock.lock(); lines.append(line); lock.unlock() }
            func count(_ command: String, _ status: Int32?) {
                lock.lock(); statuses["\(command) \(status.map(String.init) ?? "signal")", default: 0] += 1;
                lock.unlock()
            }
        }
        let failures = Failures()
        let workRoot = try CLI.scratchFolder("fuzz-runs")
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for index in stride(from: worker, to: lines.count, by: 2) {
                let arguments = lines[index]
                let shown =
                    "run \(index) (seed \(Self.seed)): cadenza "
                    + arguments.map { $0.isEmpty ? "''" : $0 }.joined(separator: " ")
                do {
                    let folder = workRoot.appendingPathComponent("\(index)")
                    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                    let outcome = try CLI.run(arguments, in: folder, timeout: 60)
                    failures.count(arguments[0], outcome.status)
                    var problems: [String] = []
                    if outcome.timedOut { problems.append("timed out") }
                    if let signal = outcome.signal { problems.append("ended by signal \(signal)") }
                    if let status = outcome.status, ![0, 1, 64].contains(status) {
                        problems.append("exit status \(status)")
                    }
                    if outcome.stderr.contains("Fatal error") || outcome.stderr.contains("Domain=") {
                        problems.append("crash or raw error text")
                    }
                    problems += OutputChecks.partialFiles(under: folder).map { "left \($0)" }
                    problems += OutputChecks.incompleteFiles(under: folder)
                    if !problems.isEmpty {
                        failures.add("\(shown)\n  \(problems.joined(separator: "; "))\n  \(outcome.stderr.prefix(400))")
                    } else {
                        try? FileManager.default.removeItem(at: folder)
                    }
                } catch {
                    failures.add("\(shown)\n  could not run: \(error)")
                }
            }
        }
        // Commands that write beside their input (plot and render without --out) write into
        // the inputs' folder: nothing half-written may be left there either.
        for leftover in OutputChecks.partialFiles(under: inputs.folder) {
            failures.add("left \(leftover) among the inputs")
        }
        // What the runs did, by command and exit status: a fuzz test whose runs all stop at
        // the flags would find little, so this is printed for a reader to check.
        print(
            "fuzz outcomes: "
                + failures.statuses.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
                .joined(separator: ", "))
        let report =
            "\(failures.lines.count) of \(lines.count) runs failed:\n"
            + failures.lines.prefix(40).joined(separator: "\n")
        #expect(failures.lines.isEmpty, "\(report)")
    }
}
