import ArgumentParser
import Basics
import Corpus
import Foundation
import REMI
import Tensor

/// `cadenza tokenize PATH... --out DIR`: MIDI files to REMI token files (docs/remi.md).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Turn MIDI files into REMI token files.",
        discussion: """
            Writes DIR/<name>.remi per input (the input's path below a folder argument is kept), \
            plus DIR/vocab.json and DIR/config.json. A .remi file holds a header with the \
            vocabulary's fingerprint and the ids as uint16 (docs/remi.md), so it is never decoded \
            with another tokenizer config. A folder that already holds another vocabulary is \
            refused unless --overwrite is given. A file that cannot be read or encoded is reported \
            and the others go on; the exit status is 1 when any failed. Ctrl-C finishes the files \
            being written, says how many were done, and exits with status 130.

            With --format npy, PATH is one corpus (a folder, a list file or a MAESTRO-style CSV) and \
            DIR gets the token streams Cadenza trains on, for PyTorch code to read with numpy.load: \
            train.npy, validation.npy and test.npy (int32; each split's pieces in corpus order, each \
            ending with End Of Piece), <split>-offsets.npy (int64; where each piece starts, then the \
            total), <split>-files.txt (each piece's path, one per line), vocab.json and config.json \
            (docs/training.md, "Cadenza's data in PyTorch").
            """)

    @Argument(help: "MIDI files, or folders searched recursively for .mid/.midi files.")
    var paths: [String]

    @Option(help: "Folder for the token files, vocab.json and config.json (created if missing).")
    var out: String

    @Option(help: "Tokenizer config JSON; fields left out keep their defaults (see docs/remi.md).")
    var config: String?

    @Flag(help: "Write into a folder whose vocab.json differs (its older token files will no longer decode with it).")
    var overwrite = false

    @Flag(name: .customLong("print"), help: "Print each file's events in the readable REMI dump.")
    var printEvents = false

    @Flag(help: "Print one JSON object per input: path, output, tokens, notes, bars, error.")
    var json = false

    @Option(parsing: .unconditional, help: "Files tokenized at once (default: all cores).")
    var threads: Int?

    /// What `tokenize` writes.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        /// One `.remi` token file per MIDI file.
        case remi
        /// Each split's pieces as one NumPy array (for PyTorch).
        case npy
    }

    @Option(help: "remi: a .remi file per MIDI file; npy: each split of one corpus as NumPy arrays.")
    var format: Format = .remi

    @OptionGroup var splitRatios: SplitRatioOptions

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give at least one MIDI file or folder") }
        if format == .npy {
            guard paths.count == 1 else {
                throw ValidationError("--format npy reads one corpus: a folder, a list file or a MAESTRO-style CSV")
            }
            if printEvents || json { throw ValidationError("--print and --json go with --format remi") }
        }
        if let threads, !(1...1024).contains(threads) {
            throw ValidationError("--threads must be 1...1024, got \(threads)")
        }
    }

    func run() throws {
        let tokenizer = try REMITokenizer(
            config: try config.map { try TokenizerConfig.load(from: URL(fileURLWithPath: $0)) } ?? TokenizerConfig())
        let outDir = URL(fileURLWithPath: out)
        try OutputPath.checkFolder(outDir)
        let vocabularyURL = outDir.appendingPathComponent("vocab.json")
        if !overwrite, tokenizer.vocabulary.differs(fromFileAt: vocabularyURL) {
            throw REMIError.folderHasOtherVocabulary(path: outDir.path)
        }
        try OutputPath.createFolder(outDir)
        try Interruption.whileWriting {
            try tokenizer.vocabulary.save(to: vocabularyURL)
            try tokenizer.config.save(to: outDir.appendingPathComponent("config.json"))
        }
        if format == .npy { return try writeSplits(tokenizer: tokenizer, into: outDir) }

        let inputs = MIDIFileList(paths: paths)
        var taken: [String: String] = [:]
        var jobs: [TokenizeJob] = []
        var problems: [String: String] = [:]
        for path in inputs.missing { problems[path] = "\(REMIError.missingInput(path: path))" }
        for (url, relative) in inputs.files {
            let name = (relative as NSString).deletingPathExtension + ".remi"
            if let first = taken[name] {
                problems[url.path] = "its token file \(name) would overwrite the one of \(first)"
                continue
            }
            taken[name] = url.path
            jobs.append(TokenizeJob(input: url, output: outDir.appendingPathComponent(name)))
        }
        Interruption.handleStopsInCaller()
        let outcomes =
            tokenizer.tokenizeFiles(
                jobs, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount, keepIDs: printEvents,
                shouldStop: { Interruption.isRequested })
            + problems.sorted { $0.key < $1.key }.map {
                TokenizeOutcome(path: $0.key, ids: [], tokenCount: 0, notes: 0, bars: 0, error: $0.value)
            }
        var failed = 0, tokens = 0, notStarted = 0
        for (i, outcome) in outcomes.enumerated() {
            guard outcome.started else {
                notStarted += 1
                continue
            }
            tokens += outcome.tokenCount
            if let error = outcome.error {
                failed += 1
                let named = error.contains(outcome.path) ? error : "\(outcome.path): \(error)"
                FileHandle.standardError.write(Data("error: \(named)\n".utf8))
            }
            if json {
                print(
                    Self.jsonLine(outcome, output: i < jobs.count && outcome.error == nil ? jobs[i].output?.path : nil))
            }
            if printEvents && outcome.error == nil {
                print("# \(outcome.path)")
                print(tokenizer.dump(ids: outcome.ids))
            }
        }
        let done = outcomes.count - failed - notStarted
        if notStarted > 0 || Interruption.isRequested {
            FileHandle.standardError.write(
                Data(
                    ("stopped by a signal: tokenized \(done) of \(outcomes.count.counted("file")) "
                        + "(each written whole), \(failed) failed, \(notStarted) not started, "
                        + "\(tokens.counted("token")), "
                        + "into \(outDir.path)\n").utf8))
            throw ExitCode(Interruption.exitStatus)
        }
        FileHandle.standardError.write(
            Data(
                ("tokenized \(done) of \(outcomes.count.counted("file")), \(tokens.counted("token")), into "
                    + "\(outDir.path)\n").utf8))
        if failed > 0 { throw ExitCode(1) }
    }

    static func jsonLine(_ outcome: TokenizeOutcome, output: String?) -> String {
        struct Line: Encodable {
            var path: String, output: String?, tokens: Int?, notes: Int?, bars: Int?, error: String?
            func encode(to encoder: Encoder) throws {
                // Keys always present (null when absent), so every line has the same fields.
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(path, forKey: .path)
                try c.encode(output, forKey: .output)
                try c.encode(tokens, forKey: .tokens)
                try c.encode(notes, forKey: .notes)
                try c.encode(bars, forKey: .bars)
                try c.encode(error, forKey: .error)
            }
            enum CodingKeys: String, CodingKey { case path, output, tokens, notes, bars, error }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A file that failed has no counts (null, as every --json output writes a value that
        // does not exist), not counts of 0.
        let failed = outcome.error != nil
        let line = Line(
            path: outcome.path, output: output, tokens: failed ? nil : outcome.tokenCount,
            notes: failed ? nil : outcome.notes, bars: failed ? nil : outcome.bars, error: outcome.error)
        return (try? encoder.encode(line)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

extension TokenizeCommand {
    /// `--format npy`: every split of the corpus `paths[0]` as token streams (see the discussion).
    func writeSplits(tokenizer: REMITokenizer, into folder: URL) throws {
        let (files, _) = try CorpusSource.files(at: paths[0], ratios: splitRatios.ratios())
        guard !files.isEmpty else { throw CommandFailure("\(paths[0]) holds no MIDI files") }
        let corpus = try TokenCache(folder: nil, tokenizer: tokenizer).load(files, threads: threads)
        for file in corpus.skipped {
            FileHandle.standardError.write(Data("error: \(file.path): \(file.reason)\n".utf8))
        }
        for split in Split.allCases {
            let pieces = corpus.pieces.filter { $0.file.split == split }
            var offsets: [Int64] = [0]
            for piece in pieces { offsets.append(offsets[offsets.count - 1] + Int64(piece.ids.count)) }
            let name = split.rawValue
            try Interruption.whileWriting {
                try AtomicFile.write(
                    NPY.encode(pieces.flatMap(\.ids)), to: folder.appendingPathComponent("\(name).npy"))
                try AtomicFile.write(NPY.encode(offsets), to: folder.appendingPathComponent("\(name)-offsets.npy"))
                try AtomicFile.write(
                    Data(pieces.map { $0.file.path + "\n" }.joined().utf8),
                    to: folder.appendingPathComponent("\(name)-files.txt"))
            }
            print("\(name): \(pieces.count.counted("piece")), \(Int(offsets[offsets.count - 1]).counted("token"))")
        }
        FileHandle.standardError.write(
            Data("wrote the splits of \(paths[0]) into \(folder.path) as .npy\n".utf8))
        if !corpus.skipped.isEmpty { throw ExitCode(1) }
    }
}
