import ArgumentParser
import Basics
import Foundation
import MIDI
import REMI

/// `cadenza detokenize TOKENS --out FILE.mid`: a REMI token file back to MIDI.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Turn a REMI token file back into a MIDI file.",
        discussion: """
            Any id sequence decodes: ids the grammar does not expect are handled by the rules in \
            docs/remi.md (a Note On without a duration gets one beat, a Position may go backwards, \
            ids out of range are skipped, End Of Piece stops). The token file must have been \
            written with the vocabulary given: its fingerprint is checked.
            """)

    @Argument(help: "A .remi token file written by 'cadenza tokenize'.")
    var tokens: String

    @Option(help: "The MIDI file to write.")
    var out: String

    @Option(help: "The vocabulary the ids belong to (default: vocab.json beside the token file).")
    var vocab: String?

    func validate() throws {
        try checkOutputs([("--out", out)], notAnyOf: [("the token file", tokens), ("--vocab", vocabularyURL.path)])
    }

    /// `--vocab`, else vocab.json beside the token file.
    private var vocabularyURL: URL {
        vocab.map { URL(fileURLWithPath: $0) }
            ?? URL(fileURLWithPath: tokens).deletingLastPathComponent().appendingPathComponent("vocab.json")
    }

    func run() throws {
        let tokenURL = URL(fileURLWithPath: tokens)
        let vocabURL = vocabularyURL
        let outURL = URL(fileURLWithPath: out)
        try OutputPath.checkFile(outURL)
        let file = try TokenFile.read(from: tokenURL)
        let vocabulary = try Vocabulary.load(from: vocabURL)
        try file.check(against: vocabulary, tokenPath: tokenURL.path, vocabularyPath: vocabURL.path)
        let midi = REMITokenizer(vocabulary: vocabulary).decode(ids: file.ids)
        try midi.write(to: outURL)
        print(
            "wrote \(out): \(midi.noteCount.counted("note")), \(midi.tempoChanges.count.counted("tempo change")), "
                + "\(file.ids.count.counted("token"))")
    }
}
