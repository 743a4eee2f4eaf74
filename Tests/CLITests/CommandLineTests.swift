import Basics
import Foundation
import MIDI
import Tensor
import Testing

/// Each defect found by trying every command as a new user would, as a test of the built
/// binary: the exit status, the message and the files left behind.
@Suite struct CommandLineTests {
    /// The bundled model's folder in the source tree (a plain model folder: weights, config,
    /// vocabulary).
    static let pretrained = CLI.repository.appendingPathComponent("Sources/cadenza/Resources/Pretrained")

    // MARK: flags and values

    @Test func negativeNumbersGetTheRangeErrorNotMissingValue() throws {
        let folder = try CLI.scratchFolder()
        let outcome = try CLI.run(["train", "--steps", "-5", "--data", "x", "--out", "y"], in: folder)
        #expect(outcome.status == 64, "\(outcome)")
        #expect(outcome.stderr.contains("--steps must be at least 1, got -5"), "\(outcome)")
        #expect(!outcome.stderr.contains("Missing value"), "\(outcome)")
        let bars = try CLI.run(["generate", "--bars", "-3"], in: folder)
        #expect(bars.status == 64 && bars.stderr.contains("--bars must be 1...4096, got -3"), "\(bars)")
        for arguments in [
            ["metrics", "x.mid", "--bars", "-1"], ["train", "--data", "x", "--out", "y", "--infill-every", "-1"],
            ["eval", "--checkpoint", "pretrained", "--tolerance", "-1"],
        ] {
            let outcome = try CLI.run(arguments, in: folder)
            #expect(outcome.status == 64 && !outcome.stderr.contains("Missing value"), "\(arguments): \(outcome)")
        }
        // An option of several values (ArgumentParser reads "-1" after one as an option).
        for values in [["-1"], ["128", "-1"], ["-1", "128"]] {
            let outcome = try CLI.run(["eval", "--checkpoint", "pretrained", "--mem-len"] + values, in: folder)
            #expect(
                outcome.status == 64 && outcome.stderr.contains("--mem-len must be 0...65536, got -1"),
                "\(values): \(outcome)")
        }
        #expect(CLI.files(in: folder).isEmpty)
    }

    @Test func valuesThatCanBeCheckedWithoutTheModelAreFlagErrors() throws {
        let folder = try CLI.scratchFolder()
        for (arguments, message) in [
            (["generate", "--bars", "1", "--chords", "X:maj"], "--chords: 'X:maj' is not a chord name"),
            (["generate", "--bars", "1", "--temperature", "-1"], "--temperature must be 0.1...100, got -1.0"),
            (
                ["train", "--data", "x", "--out", "y", "--validation-ratio", "2"],
                "--validation-ratio must be at least 0"
            ),
            (["metrics", "x.mid", "--validation-ratio", "0.6", "--test-ratio", "0.5"], "leave no files for training"),
        ] {
            let outcome = try CLI.run(arguments, in: folder)
            #expect(outcome.status == 64 && outcome.stderr.contains(message), "\(arguments): \(outcome)")
        }
        #expect(CLI.files(in: folder).isEmpty)
    }

    @Test func anOutputNamingAnInputIsRefusedAndTheInputKept() throws {
        let folder = try CLI.scratchFolder()
        let made = try CLI.run(["generate", "--bars", "1", "--seed", "1", "--out", "a.mid"], in: folder)
        #expect(made.status == 0, "\(made)")
        let piece = try Data(contentsOf: folder.appendingPathComponent("a.mid"))
        for arguments in [
            ["plot", "a.mid", "--out", "a.mid"], ["render", "a.mid", "--out", "./a.mid"],
            ["generate", "--prompt", "a.mid", "--out", "a.mid"],
            ["generate", "--bars", "1", "--out", "b.mid", "--tokens-out", "b.mid"],
        ] {
            let outcome = try CLI.run(arguments, in: folder)
            #expect(
                outcome.status == 64 && outcome.stderr.contains("is the same file as"), "\(arguments): \(outcome)")
        }
        #expect(try Data(contentsOf: folder.appendingPathComponent("a.mid")) == piece)
        #expect(CLI.files(in: folder) == ["a.mid"])
    }

    /// A passage past the piece's end is an error naming its length, not an empty picture; a run
    /// not yet started is left out of a comparison of runs, not the comparison.
    @Test func plotsSayWhatIsNotThere() throws {
        let folder = try CLI.scratchFolder()
        let made = try CLI.run(["generate", "--bars", "2", "--seed", "1", "--out", "a.mid"], in: folder)
        #expect(made.status == 0, "\(made)")
        let past = try CLI.run(["plot", "a.mid", "--bars", "5-6", "--out", "a.png"], in: folder)
        #expect(
            past.status == 1 && past.stderr.contains("--bars 5-6 starts past the end of a.mid, which has "), "\(past)")
        let record =
            #"{"elapsed_s":0.1,"epoch":0,"grad_norm":0.7,"kind":"train","loss":5.7,"lr":0.0001,"step":1,"#
            + #""tokens_per_second":7543,"tokens_seen":512}"#
        for (run, text) in [("started", record + "\n"), ("empty", "")] {
            try FileManager.default.createDirectory(
                at: folder.appendingPathComponent(run), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: folder.appendingPathComponent("\(run)/metrics.jsonl"))
        }
        let both = try CLI.run(["plot-loss", "started", "empty", "--out", "loss.png"], in: folder)
        #expect(
            both.status == 0 && both.stderr.contains("empty/metrics.jsonl holds no training steps yet: left out"),
            "\(both)")
        let alone = try CLI.run(["plot-loss", "empty", "--out", "alone.png"], in: folder)
        #expect(
            alone.status == 1
                && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("alone.png").path))
    }

    @Test func aFIFOIsRefusedAtOnceAsInputAndAsOutput() throws {
        let folder = try CLI.scratchFolder()
        #expect(mkfifo(folder.appendingPathComponent("pipe.mid").path, 0o644) == 0)
        let read = try CLI.run(["inspect", "pipe.mid"], in: folder, timeout: 30)
        #expect(
            read.status == 1 && !read.timedOut && (read.stdout + read.stderr).contains("not a regular file"),
            "\(read)")
        let written = try CLI.run(["generate", "--bars", "1", "--seed", "1", "--out", "pipe.mid"], in: folder)
        #expect(written.status == 1 && written.stderr.contains("not a regular file"), "\(written)")
        var info = stat()
        #expect(lstat(folder.appendingPathComponent("pipe.mid").path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
    }

    @Test func aMalformedThreadVariableIsNamedWithItsText() throws {
        let folder = try CLI.scratchFolder()
        let outcome = try CLI.run(
            ["generate", "--bars", "1", "--seed", "1", "--out", "a.mid"], in: folder,
            environment: ["CADENZA_THREADS": "abc"])
        #expect(outcome.status == 1, "\(outcome)")
        #expect(
            outcome.stderr.contains("CADENZA_THREADS must be a whole number of at least 1 and at most 1024, got 'abc'"),
            "\(outcome)")
        #expect(CLI.files(in: folder).isEmpty)
    }

    @Test func generateWritesEveryBarAskedForUnlessTheModelMayEndThePiece() throws {
        // With seed 7 the bundled model writes End Of Piece after its first note.
        let folder = try CLI.scratchFolder()
        let full = try CLI.run(["generate", "--bars", "3", "--seed", "7", "--out", "a.mid"], in: folder)
        #expect(full.status == 0 && full.stdout.contains("3 new bars"), "\(full)")
        let ended = try CLI.run(
            ["generate", "--bars", "3", "--seed", "7", "--allow-end", "--out", "b.mid"], in: folder)
        #expect(ended.status == 0 && ended.stdout.contains("1 new bar,"), "\(ended)")
        #expect(ended.stdout.contains("the model wrote End Of Piece"), "\(ended)")
    }

    @Test func theModelFlagIsTheSameEverywhereAndTakesBothSpellings() throws {
        for spelling in ["txl", "transformer-xl"] {
            let outcome = try CLI.run(["model-info", "--model", spelling])
            #expect(outcome.status == 0, "\(outcome)")
            // The parameter count for the real vocabulary (368 tokens): the bundled model's.
            #expect(outcome.stdout.contains("parameters: 5220720"), "\(outcome)")
        }
        for spelling in ["gpt2", "gpt-2"] {
            let outcome = try CLI.run(["model-info", "--model", spelling])
            #expect(outcome.status == 0 && outcome.stdout.contains("\"kind\" : \"gpt2\""), "\(outcome)")
        }
        let wrong = try CLI.run(["model-info", "--model", "lstm"])
        #expect(wrong.status == 64 && wrong.stderr.contains("txl"), "\(wrong)")
        let train = try CLI.run(
            ["train", "--model", "transformer-xl", "--data", "nowhere", "--out", "x", "--steps", "1"],
            in: try CLI.scratchFolder())
        #expect(!train.stderr.contains("--model"), "the long spelling is accepted: \(train)")
    }

    @Test func helpTextsStateEachDefaultOnce() throws {
        let commands = [
            "tokenize", "detokenize", "doctor", "inspect", "model-info", "plot", "plot-loss", "render",
            "eval", "metrics", "generate", "train", "export", "info", "import", "fit-style",
        ]
        for command in commands {
            let outcome = try CLI.run([command, "--help"])
            #expect(outcome.status == 0, "\(command): \(outcome)")
            let flat = outcome.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(
                flat.range(of: #"\(default[^)]*\)[^-]{0,40}\(default"#, options: .regularExpression) == nil,
                "\(command) repeats a default: \(flat)")
        }
    }

    @Test func runtimeErrorsShowTheFailingCommandsUsageNotTheRoots() throws {
        let folder = try CLI.scratchFolder()
        let outcome = try CLI.run(["generate", "--temperature", "0", "--bars", "2"], in: folder)
        #expect(outcome.status == 64, "\(outcome)")
        #expect(outcome.stderr.contains("Usage: cadenza generate"), "\(outcome)")
        #expect(!outcome.stderr.contains("cadenza <subcommand>"), "\(outcome)")
    }

    // MARK: generate

    @Test func generateChecksItsOutputBeforeComputing() throws {
        let folder = try CLI.scratchFolder()
        let outcome = try CLI.run(["generate", "--bars", "64", "--seed", "1", "--out", "missing/x/a.mid"], in: folder)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(
            outcome.stderr.contains(
                "cannot write \(folder.path)/missing/x/a.mid: the folder \(folder.path)/missing/x does not exist"),
            "\(outcome)")
        #expect(!outcome.stdout.contains("model:"), "the model was loaded before the output was checked: \(outcome)")
        #expect(CLI.files(in: folder).isEmpty)
    }

    @Test func temperatureZeroIsRefusedWithTheReason() throws {
        let outcome = try CLI.run(["generate", "--temperature", "0", "--bars", "4"], in: try CLI.scratchFolder())
        #expect(outcome.status == 64, "\(outcome)")
        #expect(outcome.stderr.contains("--temperature must be at least 0.1, got 0.0"), "\(outcome)")
        #expect(outcome.stderr.contains("empty bars"), "\(outcome)")
    }

    @Test func aPromptWithoutNotesIsRefusedAndAShortOneIsSaidSo() throws {
        let folder = try CLI.scratchFolder()
        try folder.appendingPathComponent("silence.mid").write(Fixture.silence())
        try folder.appendingPathComponent("scale.mid").write(Fixture.scale(bars: 2))
        let silent = try CLI.run(
            ["generate", "--prompt", "silence.mid", "--bars", "1", "--seed", "1", "--out", "a.mid"],
            in: folder)
        #expect(silent.status == 1 && silent.stderr.contains("holds no notes: nothing to continue"), "\(silent)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("a.mid").path))
        let short = try CLI.run(
            [
                "generate", "--prompt", "scale.mid", "--prompt-bars", "8", "--bars", "1", "--seed", "1",
                "--out", "b.mid",
            ], in: folder)
        #expect(short.status == 0, "\(short)")
        #expect(short.stdout.contains("has only 2 bars; all of it is kept (--prompt-bars 8)"), "\(short)")
        #expect(short.stdout.contains("stopped after the bars asked for"), "\(short)")
    }

    @Test func exportedModelsCarryTheirCard() throws {
        let folder = try CLI.scratchFolder()
        let bundled = try CLI.run(["export", "--checkpoint", Self.pretrained.path, "--out", "copy"], in: folder)
        #expect(bundled.status == 0, "\(bundled)")
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("copy/model-card.json"))
                == Data(contentsOf: Self.pretrained.appendingPathComponent("model-card.json")))
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<3 { try data.appendingPathComponent("p\(i).mid").write(Fixture.scale(bars: 8 + i)) }
        let train = try CLI.run(
            [
                "train", "--data", "data", "--preset", "tiny", "--steps", "1", "--batch", "1", "--seg-len", "16",
                "--out", "run", "--no-cache", "--validation-ratio", "0.4",
            ], in: folder)
        #expect(train.status == 0, "\(train)")
        let exported = try CLI.run(["export", "--checkpoint", "run", "--out", "mine"], in: folder)
        #expect(exported.status == 0, "\(exported)")
        let card =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: folder.appendingPathComponent("mine/model-card.json")))
            as? [String: Any]
        // The data is named by its absolute path, so that eval finds it from any folder.
        #expect(
            card?["data"] as? String == data.standardizedFileURL.path && card?["updates"] as? Int == 1,
            "\(String(describing: card))")
        #expect((card?["licence"] as? String)?.contains("not stated") == true)
    }

    /// `--epochs` sets the run's length once the data is read; the default warm-up is a tenth of
    /// that length (it was a tenth of the 1,000 steps of a run without --steps). The run names
    /// its data by absolute path, so `eval` from another folder reads the same data.
    @Test func epochsSetTheWarmUpAndTheDataIsFoundFromAnywhere() throws {
        let folder = try CLI.scratchFolder()
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<3 { try data.appendingPathComponent("p\(i).mid").write(Fixture.scale(bars: 40 + 8 * i)) }
        let train = try CLI.run(
            [
                "train", "--data", "data", "--preset", "tiny", "--epochs", "30", "--batch", "1", "--seg-len", "16",
                "--out", "run", "--no-cache", "--validation-ratio", "0.4", "--eval-every", "0",
            ], in: folder)
        #expect(train.status == 0, "\(train)")
        let line = try #require(train.stdout.split(separator: "\n").first { $0.contains(" steps (") })
        let steps = try #require(Int(line.split(separator: " steps (")[0].split(separator: " ").last ?? ""))
        #expect(steps > 1000 && line.contains("warm-up \(steps / 10)"), "\(line)")
        let elsewhere = folder.appendingPathComponent("elsewhere")
        try FileManager.default.createDirectory(at: elsewhere, withIntermediateDirectories: true)
        let scored = try CLI.run(["eval", "--checkpoint", "../run", "--split", "all", "--no-cache"], in: elsewhere)
        #expect(scored.status == 0 && scored.stdout.contains(data.standardizedFileURL.path), "\(scored)")
    }

    /// A scratch folder with `songs` scales in data/ and a tiny GPT-2 trained on them for one
    /// update in run/ (40 % of the files for validation: none among 3, some among 8).
    private func trainTinyGPT2(songs: Int) throws -> (folder: URL, train: CLI.Outcome) {
        let folder = try CLI.scratchFolder()
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        for i in 0..<songs { try data.appendingPathComponent("p\(i).mid").write(Fixture.scale(bars: 8 + i)) }
        let train = try CLI.run(
            [
                "train", "--data", "data", "--model", "gpt2", "--preset", "tiny", "--steps", "1",
                "--batch", "1", "--seg-len", "16", "--out", "run", "--no-cache", "--validation-ratio", "0.4",
            ],
            in: folder)
        return (folder, train)
    }

    /// Training measures int8 against int4 on its validation data and saves the choice beside the
    /// weights generation reads; `eval --choose-precision` measures again; generation uses it.
    @Test func theGenerationPrecisionIsMeasuredSavedAndUsed() throws {
        let (folder, train) = try trainTinyGPT2(songs: 8)
        #expect(train.status == 0 && train.stdout.contains("generation precision: "), "\(train)")
        let saved = folder.appendingPathComponent("run/best/decoding.json")
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: saved)) as? [String: Any]
        let weights = try Data(contentsOf: folder.appendingPathComponent("run/best/model.safetensors"))
        #expect(object?["weights_checksum"] as? String == FNV1a.hex(FNV1a.hash(weights)))

        // Any cost is within a tolerance of 100 %: int4 is chosen, and generation then reads it
        // where the CPU has the int8 kernels (AVX2 or AVX-512 VNNI).
        let chosen = try CLI.run(
            [
                "eval", "--checkpoint", "run", "--data", "data", "--split", "all", "--no-cache", "--choose-precision",
                "--tolerance", "1",
            ], in: folder)
        #expect(chosen.status == 0 && chosen.stdout.contains("chose int4"), "\(chosen)")
        // A few bars cannot measure a cost of a fraction of a percent: no choice is made from them.
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("short"), withIntermediateDirectories: true)
        try folder.appendingPathComponent("short/s.mid").write(Fixture.scale(bars: 2))
        let few = try CLI.run(
            ["eval", "--checkpoint", "run", "--data", "short", "--no-cache", "--choose-precision"], in: folder)
        #expect(few.status == 1 && few.stderr.contains("too few to measure int4's cost"), "\(few)")
        let generated = try CLI.run(
            ["generate", "--checkpoint", "run", "--seed", "3", "--tokens", "60", "--out", "a.mid"], in: folder)
        let int4 = try CLI.run(
            [
                "generate", "--checkpoint", "run", "--seed", "3", "--tokens", "60", "--out", "b.mid", "--precision",
                "int4",
            ],
            in: folder)
        #expect(generated.status == 0 && int4.status == 0, "\(generated)\n\(int4)")
        let hasKernel = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))?.contains(" avx2") ?? false
        if hasKernel {
            #expect(generated.stdout.contains("weights: int4, this model's measured choice"), "\(generated)")
            #expect(
                try Data(contentsOf: folder.appendingPathComponent("a.mid"))
                    == Data(contentsOf: folder.appendingPathComponent("b.mid")))
        }

        // An export of the same bytes carries the choice, and generates the same music; a float16
        // export says to measure again.
        let exported = try CLI.run(["export", "--checkpoint", "run", "--out", "exported"], in: folder)
        #expect(exported.status == 0 && exported.stdout.contains("as measured on these weights"), "\(exported)")
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("exported/decoding.json"))
                == Data(contentsOf: folder.appendingPathComponent("run/best/decoding.json")))
        let fromExport = try CLI.run(
            ["generate", "--checkpoint", "exported", "--seed", "3", "--tokens", "60", "--out", "c.mid"], in: folder)
        #expect(fromExport.status == 0, "\(fromExport)")
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("c.mid"))
                == Data(contentsOf: folder.appendingPathComponent("a.mid")))
        let half = try CLI.run(["export", "--checkpoint", "run", "--float16", "--out", "half"], in: folder)
        #expect(half.status == 0 && half.stdout.contains("does not carry over"), "\(half)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("half/decoding.json").path))

        // The bundled models are not written into; flags that score otherwise do not combine.
        let bundled = try CLI.run(
            ["eval", "--checkpoint", Self.pretrained.path, "--data", "data", "--no-cache", "--choose-precision"],
            in: folder)
        #expect(bundled.status == 64 && bundled.stderr.contains("bundled with Cadenza"), "\(bundled)")
        #expect(!FileManager.default.fileExists(atPath: Self.pretrained.appendingPathComponent("decoding.json").path))
        let both = try CLI.run(
            ["eval", "--checkpoint", "run", "--choose-precision", "--decoder-precision", "int8"], in: folder)
        #expect(both.status == 64 && both.stderr.contains("does not combine"), "\(both)")
    }

    /// Resuming a run at or past the steps asked for trains nothing and writes nothing (it
    /// measured the generation precision again and rewrote decoding.json).
    @Test func resumingAFinishedRunWritesNothing() throws {
        let (folder, train) = try trainTinyGPT2(songs: 8)
        #expect(train.status == 0, "\(train)")
        let decoding = folder.appendingPathComponent("run/best/decoding.json")
        let before = try FileManager.default.attributesOfItem(atPath: decoding.path)[.modificationDate] as? Date
        try FileManager.default.removeItem(at: decoding)
        for steps in [[], ["--steps", "1"]] {
            let resumed = try CLI.run(["train", "--resume", "run"] + steps, in: folder)
            #expect(resumed.status == 0 && resumed.stdout.contains("nothing to train"), "\(resumed)")
            #expect(!resumed.stdout.contains("generation precision"), "\(resumed)")
        }
        #expect(before != nil && !FileManager.default.fileExists(atPath: decoding.path))
    }

    @Test func memoryLengthForGPT2IsRefused() throws {
        let (folder, train) = try trainTinyGPT2(songs: 3)
        #expect(train.status == 0, "\(train)")
        let outcome = try CLI.run(
            ["generate", "--checkpoint", "run", "--mem-len", "64", "--bars", "1", "--out", "a.mid"],
            in: folder)
        #expect(outcome.status == 64 && outcome.stderr.contains("--mem-len applies to Transformer-XL"), "\(outcome)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("a.mid").path))
    }

    @Test func generatedTokensCarryTheirVocabularySoDetokenizeNeedsNoFlags() throws {
        let folder = try CLI.scratchFolder()
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("tokens"), withIntermediateDirectories: true)
        let outcome = try CLI.run(
            ["generate", "--bars", "2", "--seed", "2", "--out", "g.mid", "--tokens-out", "tokens/g.remi"],
            in: folder)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(CLI.files(in: folder) == ["g.mid", "tokens/g.remi", "tokens/vocab.json"])
        let notes = try MIDIFile(contentsOf: folder.appendingPathComponent("g.mid")).noteCount
        #expect(notes > 10)
        let back = try CLI.run(["detokenize", "tokens/g.remi", "--out", "back.mid"], in: folder)
        #expect(back.status == 0 && back.stdout.contains("wrote back.mid: \(notes) notes"), "\(back)")
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("back.mid"))
                == Data(contentsOf: folder.appendingPathComponent("g.mid")))
    }

    // MARK: models to and from the authors' PyTorch code

    /// `export --to txl-pytorch` then `import --from txl-pytorch` gives back the same model
    /// folder, byte for byte, and so the same music.
    @Test func aModelExportedForPyTorchImportsBackUnchanged() throws {
        let folder = try CLI.scratchFolder()
        let model = Self.pretrained.path
        let exported = try CLI.run(["export", "--checkpoint", model, "--to", "txl-pytorch", "--out", "ex"], in: folder)
        #expect(exported.status == 0, "\(exported)")
        let state = try SafetensorsFile(contentsOf: folder.appendingPathComponent("ex/model.safetensors").path)
        #expect(state.tensors["crit.out_layers.0.weight"] != nil && state.tensors["pos_emb.inv_freq"] != nil)
        let imported = try CLI.run(
            [
                "import", "ex/model.safetensors", "--from", "txl-pytorch", "--vocab", "ex/vocab.json",
                "--args", "ex/args.json", "--out", "back",
            ], in: folder)
        #expect(imported.status == 0, "\(imported)")
        for file in ["model.json", "vocab.json"] {
            #expect(
                try Data(contentsOf: folder.appendingPathComponent("back/\(file)"))
                    == Data(contentsOf: Self.pretrained.appendingPathComponent(file)), "\(file)")
        }
        let original = try SafetensorsFile(contentsOf: Self.pretrained.appendingPathComponent("model.safetensors").path)
        let back = try SafetensorsFile(contentsOf: folder.appendingPathComponent("back/model.safetensors").path)
        #expect(Set(back.tensors.keys) == Set(original.tensors.keys))
        for (name, tensor) in original.tensors { #expect(back.tensors[name]?.values == tensor.values, "\(name)") }
        for (args, name) in [(["--model", "back"], "a.mid"), ([], "b.mid")] {
            let g = try CLI.run(["generate", "--bars", "2", "--seed", "5", "--out", name] + args, in: folder)
            #expect(g.status == 0, "\(g)")
        }
        #expect(
            try Data(contentsOf: folder.appendingPathComponent("a.mid"))
                == Data(contentsOf: folder.appendingPathComponent("b.mid")))

        // The bundled weights are float16 already, so a float16 export loses nothing either.
        let half = try CLI.run(
            ["export", "--checkpoint", model, "--to", "txl-pytorch", "--float16", "--out", "ex16"], in: folder)
        #expect(half.status == 0 && half.stdout.contains("F16"), "\(half)")
        let halfBack = try CLI.run(
            [
                "import", "ex16/model.safetensors", "--from", "txl-pytorch", "--vocab", "ex16/vocab.json", "--out",
                "back16",
            ],
            in: folder)
        #expect(halfBack.status == 0, "\(halfBack)")
        let back16 = try SafetensorsFile(contentsOf: folder.appendingPathComponent("back16/model.safetensors").path)
        for (name, tensor) in original.tensors { #expect(back16.tensors[name]?.values == tensor.values, "\(name)") }

        let pickle = try CLI.run(
            ["import", "model.pt", "--from", "txl-pytorch", "--vocab", "ex/vocab.json", "--out", "x"], in: folder)
        #expect(pickle.status == 64 && pickle.stderr.contains("safetensors"), "\(pickle)")
        let tiny = CLI.repository.appendingPathComponent(
            "../shared/data/reference/transformer-xl-tiny/model.safetensors")
        if FileManager.default.fileExists(atPath: tiny.path) {
            let wrong = try CLI.run(
                ["import", tiny.path, "--from", "txl-pytorch", "--vocab", "ex/vocab.json", "--out", "x"], in: folder)
            #expect(wrong.status == 1 && wrong.stderr.contains("has 40 tokens"), "\(wrong)")
            #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("x").path))
        }

        // Neither writes over what it reads: an import into the folder of its state dict, an
        // export into the model's own folder.
        let exportedState = try Data(contentsOf: folder.appendingPathComponent("ex/model.safetensors"))
        let intoItself = try CLI.run(
            [
                "import", "ex/model.safetensors", "--from", "txl-pytorch", "--vocab", "ex/vocab.json", "--args",
                "ex/args.json", "--out", "ex",
            ], in: folder)
        #expect(
            intoItself.status == 64 && intoItself.stderr.contains("is the same file as the state dict"), "\(intoItself)"
        )
        #expect(try Data(contentsOf: folder.appendingPathComponent("ex/model.safetensors")) == exportedState)
        let backWeights = try Data(contentsOf: folder.appendingPathComponent("back/model.safetensors"))
        let overItself = try CLI.run(["export", "--checkpoint", "back", "--float16", "--out", "./back/"], in: folder)
        #expect(overItself.status == 64 && overItself.stderr.contains("is the model's own folder"), "\(overItself)")
        #expect(try Data(contentsOf: folder.appendingPathComponent("back/model.safetensors")) == backWeights)
    }

    // MARK: tokenize and detokenize

    /// `--format npy` writes each split as the streams training reads, and NumPy reads them.
    @Test func tokenizeWritesEachSplitAsNumPyArrays() throws {
        let folder = try CLI.scratchFolder()
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("songs"), withIntermediateDirectories: true)
        for (i, bars) in [2, 3, 4, 5].enumerated() {
            try folder.appendingPathComponent("songs/s\(i).mid").write(Fixture.scale(bars: bars))
        }
        try folder.appendingPathComponent("songs/broken.mid").write(Data("MThd".utf8))
        let outcome = try CLI.run(
            ["tokenize", "songs", "--out", "streams", "--format", "npy", "--validation-ratio", "0.5"], in: folder)
        #expect(outcome.status == 1 && outcome.stderr.contains("broken.mid"), "one file is unreadable: \(outcome)")
        var total = 0
        for split in ["train", "validation", "test"] {
            let ids = try NPY.decode(
                Data(contentsOf: folder.appendingPathComponent("streams/\(split).npy")), as: Int32.self)
            let offsets = try NPY.decode(
                Data(contentsOf: folder.appendingPathComponent("streams/\(split)-offsets.npy")), as: Int64.self)
            let files = try String(
                contentsOf: folder.appendingPathComponent("streams/\(split)-files.txt"), encoding: .utf8
            )
            .split(separator: "\n")
            #expect(offsets.first == 0 && offsets.last == Int64(ids.count) && offsets.count == files.count + 1)
            // Each piece ends with End Of Piece (id 2) and holds no other.
            for (start, end) in zip(offsets, offsets.dropFirst()) {
                #expect(ids[Int(end) - 1] == 2 && !ids[Int(start)..<(Int(end) - 1)].contains(2))
            }
            total += files.count
        }
        #expect(total == 4)
        let refused = try CLI.run(["tokenize", "songs", "songs", "--out", "x", "--format", "npy"], in: folder)
        #expect(refused.status == 64 && refused.stderr.contains("one corpus"), "\(refused)")
        // NumPy itself, where it is installed.
        let train = folder.appendingPathComponent("streams/train.npy").path
        if let check = try? Subprocess.run(
            "python3", ["-c", "import numpy; a = numpy.load('\(train)'); print(a.dtype, a.ndim, len(a))"]),
            check.status == 0
        {
            let count = try NPY.decode(Data(contentsOf: URL(fileURLWithPath: train)), as: Int32.self).count
            #expect(check.outputText.contains("int32 1 \(count)"), "\(check.outputText)")
        }
    }

    @Test func tokenFilesAreNeverDecodedWithAnotherConfigsVocabulary() throws {
        let folder = try CLI.scratchFolder()
        try folder.appendingPathComponent("song.mid").write(Fixture.scale(bars: 4))
        // Another config with the same number of tokens: only the durations' step differs.
        try folder.appendingPathComponent("other.json").write(Data(#"{"durationStepTicks": 120}"#.utf8))
        let first = try CLI.run(["tokenize", "song.mid", "--out", "tokens"], in: folder)
        #expect(first.status == 0 && first.stderr.contains("tokenized 1 of 1 file, "), "\(first)")
        let vocabulary = try Data(contentsOf: folder.appendingPathComponent("tokens/vocab.json"))

        let refused = try CLI.run(["tokenize", "song.mid", "--out", "tokens", "--config", "other.json"], in: folder)
        #expect(refused.status == 1 && refused.stderr.contains("already holds another vocabulary"), "\(refused)")
        #expect(refused.stderr.contains("--overwrite"), "\(refused)")
        #expect(try Data(contentsOf: folder.appendingPathComponent("tokens/vocab.json")) == vocabulary)

        // Asked for, the folder gets the new vocabulary; a token file kept from the old one is refused.
        try FileManager.default.copyItem(
            at: folder.appendingPathComponent("tokens/song.remi"),
            to: folder.appendingPathComponent("old.remi"))
        let replaced = try CLI.run(
            ["tokenize", "song.mid", "--out", "tokens", "--config", "other.json", "--overwrite"],
            in: folder)
        #expect(replaced.status == 0, "\(replaced)")
        let wrong = try CLI.run(
            ["detokenize", "old.remi", "--vocab", "tokens/vocab.json", "--out", "old.mid"], in: folder)
        #expect(wrong.status == 1, "\(wrong)")
        #expect(wrong.stderr.contains("old.remi was written with vocabulary"), "\(wrong)")
        #expect(wrong.stderr.contains("tokens/vocab.json is vocabulary"), "\(wrong)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("old.mid").path))
    }

    @Test func aMisspeltConfigKeyIsAnErrorNamingTheNearestKey() throws {
        let folder = try CLI.scratchFolder()
        try folder.appendingPathComponent("song.mid").write(Fixture.scale())
        try folder.appendingPathComponent("my.json").write(Data(#"{"chordz": false}"#.utf8))
        let outcome = try CLI.run(["tokenize", "song.mid", "--out", "tokens", "--config", "my.json"], in: folder)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.stderr.contains("unknown key 'chordz' (did you mean 'chords'?)"), "\(outcome)")
        try folder.appendingPathComponent("model.json").write(Data(#"{"kind": "gpt2", "n_layers": 2}"#.utf8))
        let model = try CLI.run(["model-info", "--config", "model.json"], in: folder)
        #expect(
            model.status == 1 && model.stderr.contains("unknown key 'n_layers' (did you mean 'n_layer'?)"), "\(model)")
    }

    @Test func tokenizeExitsOneAndSummarisesWhenAFileFails() throws {
        let folder = try CLI.scratchFolder()
        let songs = folder.appendingPathComponent("songs")
        try FileManager.default.createDirectory(at: songs, withIntermediateDirectories: true)
        try songs.appendingPathComponent("good.mid").write(Fixture.scale())
        try songs.appendingPathComponent("bad.mid").write(Data("MThd garbage".utf8))
        let outcome = try CLI.run(["tokenize", "songs", "--out", "tokens"], in: folder)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.stderr.contains("tokenized 1 of 2 files"), "\(outcome)")
        #expect(CLI.files(in: folder.appendingPathComponent("tokens")) == ["config.json", "good.remi", "vocab.json"])
    }

    // MARK: write failures

    @Test func writeFailuresAreOneLineSayingWhatWhereAndWhy() throws {
        let folder = try CLI.scratchFolder()
        try folder.appendingPathComponent("song.mid").write(Fixture.scale())
        let tokenized = try CLI.run(["tokenize", "song.mid", "--out", "tokens"], in: folder)
        #expect(tokenized.status == 0, "\(tokenized)")
        let cases: [[String]] = [
            ["plot", "song.mid", "--out", "missing/a.png"],
            ["render", "song.mid", "--synth", "builtin", "--out", "missing/a.wav"],
            ["detokenize", "tokens/song.remi", "--out", "missing/a.mid"],
            ["generate", "--bars", "1", "--seed", "1", "--out", "missing/a.mid"],
            ["tokenize", "song.mid", "--out", "song.mid/tokens"],
            ["export", "--checkpoint", Self.pretrained.path, "--out", "song.mid/model"],
        ]
        for arguments in cases {
            let outcome = try CLI.run(arguments, in: folder)
            #expect(outcome.status == 1, "\(arguments): \(outcome)")
            #expect(outcome.stderr.hasPrefix("Error: cannot write "), "\(arguments): \(outcome)")
            #expect(outcome.stderr.split(separator: "\n").count == 1, "\(arguments): \(outcome)")
            #expect(!outcome.stderr.contains("Domain="), "\(arguments): \(outcome)")
            #expect(!outcome.stderr.contains("cannot read"), "\(arguments): \(outcome)")
        }
        #expect(CLI.files(in: folder) == ["song.mid", "tokens/config.json", "tokens/song.remi", "tokens/vocab.json"])
    }

    // MARK: many files: one rule for hidden files, exit codes and JSON

    /// A folder with two good pieces, a hidden one, one in a hidden folder and one broken file.
    private func songFolder() throws -> URL {
        let folder = try CLI.scratchFolder()
        let songs = folder.appendingPathComponent("songs")
        for sub in ["songs", "songs/.git"] {
            try FileManager.default.createDirectory(
                at: folder.appendingPathComponent(sub), withIntermediateDirectories: true)
        }
        try songs.appendingPathComponent("a.mid").write(Fixture.scale(bars: 4))
        try songs.appendingPathComponent("b.mid").write(Fixture.scale(bars: 6))
        try songs.appendingPathComponent(".hidden.mid").write(Fixture.scale(bars: 2))
        try songs.appendingPathComponent(".git/c.mid").write(Fixture.scale(bars: 2))
        return folder
    }

    @Test func hiddenFilesAreSkippedByEveryCommandThatSearchesAFolder() throws {
        let folder = try songFolder()
        let inspect = try CLI.run(["inspect", "songs"], in: folder)
        #expect(inspect.status == 0 && inspect.stdout.contains("2 files, 0 failed"), "\(inspect)")
        let tokenize = try CLI.run(["tokenize", "songs", "--out", "tokens"], in: folder)
        #expect(tokenize.status == 0 && tokenize.stderr.contains("tokenized 2 of 2 files"), "\(tokenize)")
        let metrics = try CLI.run(["metrics", "songs"], in: folder)
        #expect(metrics.status == 0 && metrics.stderr.contains("measured 2 of 2 files, 0 skipped"), "\(metrics)")
        // Named directly, a hidden file is read.
        let named = try CLI.run(["inspect", "songs/.hidden.mid"], in: folder)
        #expect(named.status == 0 && named.stdout.contains(".hidden.mid"), "\(named)")
    }

    @Test func metricsExitsOneAndSaysSoWhenAFileIsSkipped() throws {
        let folder = try songFolder()
        try folder.appendingPathComponent("songs/broken.mid").write(Data("MThd".utf8))
        let outcome = try CLI.run(["metrics", "songs"], in: folder)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.stderr.contains("measured 2 of 3 files, 1 skipped"), "\(outcome)")
    }

    @Test func metricsBarsMeasuresTheFirstBarsOnly() throws {
        let folder = try songFolder()
        func values(_ arguments: [String]) throws -> [String: Any] {
            let outcome = try CLI.run(["metrics", "--json"] + arguments, in: folder)
            #expect(outcome.status == 0, "\(outcome)")
            var object = try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any] ?? [:]
            object["path"] = nil
            return object
        }
        // The six-bar scale's first four bars are the four-bar scale, note for note.
        let cropped = try values(["songs/b.mid", "--bars", "4"]), four = try values(["songs/a.mid"])
        let whole = try values(["songs/b.mid"])
        #expect(cropped["note_count"] as? Double == 24 && whole["note_count"] as? Double == 36, "\(cropped)")
        #expect(NSDictionary(dictionary: cropped).isEqual(to: four), "\(cropped) against \(four)")
        let zero = try CLI.run(["metrics", "songs", "--bars", "0"], in: folder)
        #expect(zero.status == 64 && zero.stderr.contains("--bars must be at least 1"), "\(zero)")
    }

    @Test func everyJSONOutputIsOneObjectPerLineWithSnakeCaseKeysAndNullErrors() throws {
        let folder = try songFolder()
        try folder.appendingPathComponent("songs/broken.mid").write(Data("MThd".utf8))
        let runs: [[String]] = [
            ["inspect", "--json", "songs"],
            ["tokenize", "songs", "--out", "tokens", "--json"],
            ["metrics", "songs", "--json"],
            ["metrics", "--compare", "songs/a.mid", "songs/b.mid", "--json"],
            [
                "eval", "--checkpoint", Self.pretrained.path, "--data", "songs", "--max-tokens", "300", "--mem-len",
                "32",
                "--no-cache", "--json",
            ],
        ]
        for arguments in runs {
            let outcome = try CLI.run(arguments, in: folder)
            #expect(outcome.signal == nil && [0, 1].contains(outcome.status ?? -1), "\(arguments): \(outcome)")
            let lines = outcome.stdout.split(separator: "\n")
            #expect(!lines.isEmpty, "\(arguments): \(outcome)")
            var keySets = Set<[String]>()
            for line in lines {
                let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                #expect(object != nil, "\(arguments): not one object per line: \(line)")
                let keys = (object ?? [:]).keys.sorted()
                keySets.insert(keys)
                for key in keys {
                    #expect(
                        key == key.lowercased() && !key.contains("-"), "\(arguments): key '\(key)' is not snake_case")
                }
                if let error = object?["error"] { #expect(error is NSNull || error is String, "\(arguments)") }
            }
            #expect(keySets.count == 1, "\(arguments): lines differ in their keys: \(keySets)")
        }
    }

    // MARK: eval

    @Test func evalScoresNewMusicWholeAndDrawsOnlyWhenAsked() throws {
        let folder = try songFolder()
        let outcome = try CLI.run(
            [
                "eval", "--checkpoint", Self.pretrained.path, "--data", "songs", "--max-tokens", "300",
                "--mem-len", "32", "64", "--no-cache",
            ], in: folder)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(outcome.stdout.contains("data: all files of songs: 2 files"), "\(outcome)")
        #expect(!CLI.files(in: folder).contains { $0.hasSuffix(".png") }, "eval drew a picture unasked")
        let split = try CLI.run(
            [
                "eval", "--checkpoint", Self.pretrained.path, "--data", "songs", "--split", "test",
                "--no-cache",
            ], in: folder)
        #expect(split.status == 1 && split.stderr.contains("the test split of songs holds 0 files"), "\(split)")
        #expect(split.stderr.contains("--split all"), "\(split)")
        let plotted = try CLI.run(
            [
                "eval", "--checkpoint", Self.pretrained.path, "--data", "songs", "--max-tokens", "300",
                "--mem-len", "32", "64", "--no-cache", "--plot", "sweep.png",
            ], in: folder)
        #expect(plotted.status == 0 && CLI.files(in: folder).contains("sweep.png"), "\(plotted)")
    }
}
