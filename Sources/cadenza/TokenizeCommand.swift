import ArgumentParser
import Foundation
import REMI

/// `cadenza tokenize PATH... --out DIR`: MIDI files to REMI token files (docs/remi.md).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Turn MIDI files into REMI token files.",
        discussion: """
        Writes DIR/<name>.remi per input (the input's path below a folder argument is kept),
        plus DIR/vocab.json and DIR/config.json. A .remi file is a 16-byte header ('REMI',
        version 1, 2 bytes per id, vocabulary size, id count; little-endian) and the ids as
        uint16. A file that cannot be read or encoded is reported and the others go on; the
        exit status is 1 when any failed.
        """)

    @Argument(help: "MIDI files, or folders searched recursively for .mid/.midi files.")
    var paths: [String]

    @Option(help: "Folder for the token files, vocab.json and config.json (created if missing).")
    var out: String

    @Option(help: "Tokenizer config JSON; fields left out keep their defaults (see docs/remi.md).")
    var config: String?

    @Flag(name: .customLong("print"), help: "Print each file's events in the readable REMI dump.")
    var printEvents = false

    @Flag(help: "Print one JSON object per input: path, output, tokens, notes, bars, error.")
    var json = false

    @Option(help: "Files tokenized at once (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give at least one MIDI file or folder") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        let tokenizer = try REMITokenizer(config: try config.map { try TokenizerConfig.load(from: URL(fileURLWithPath: $0)) } ?? TokenizerConfig())
        let outDir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: outDir, withIntermediateDirectories: true)
        try tokenizer.vocabulary.save(to: outDir.appendingPathComponent("vocab.json"))
        try tokenizer.config.save(to: outDir.appendingPathComponent("config.json"))

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
        let outcomes = tokenizer.tokenizeFiles(jobs, threads: threads, keepIDs: printEvents)
            + problems.sorted { $0.key < $1.key }.map {
                TokenizeOutcome(path: $0.key, ids: [], tokenCount: 0, notes: 0, bars: 0, error: $0.value)
            }
        var failed = 0, tokens = 0
        for (i, outcome) in outcomes.enumerated() {
            tokens += outcome.tokenCount
            if let error = outcome.error {
                failed += 1
                FileHandle.standardError.write(Data("error: \(outcome.path): \(error)\n".utf8))
            }
            if json { print(Self.jsonLine(outcome, output: i < jobs.count && outcome.error == nil ? jobs[i].output?.path : nil)) }
            if printEvents && outcome.error == nil {
                print("# \(outcome.path)")
                print(tokenizer.dump(ids: outcome.ids))
            }
        }
        FileHandle.standardError.write(Data("tokenized \(outcomes.count - failed) of \(outcomes.count) files, \(tokens) tokens, into \(outDir.path)\n".utf8))
        if failed > 0 { throw ExitCode(1) }
    }

    static func jsonLine(_ outcome: TokenizeOutcome, output: String?) -> String {
        struct Line: Encodable {
            var path: String, output: String?, tokens: Int, notes: Int, bars: Int, error: String?
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
        let line = Line(path: outcome.path, output: output, tokens: outcome.tokenCount, notes: outcome.notes,
                        bars: outcome.bars, error: outcome.error)
        return (try? encoder.encode(line)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
