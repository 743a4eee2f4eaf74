import ArgumentParser
import Foundation
import MIDI
import REMI

/// `cadenza detokenize TOKENS --out FILE.mid`: a REMI token file back to MIDI.
struct DetokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detokenize",
        abstract: "Turn a REMI token file back into a MIDI file.",
        discussion: """
        Any id sequence decodes: ids the grammar does not expect are handled by the rules in
        docs/remi.md (a Note On without a duration gets one beat, a Position may go backwards,
        ids out of range are skipped, End Of Piece stops).
        """)

    @Argument(help: "A .remi token file written by 'cadenza tokenize'.")
    var tokens: String

    @Option(help: "The MIDI file to write.")
    var out: String

    @Option(help: "The vocabulary the ids belong to (default: vocab.json beside the token file).")
    var vocab: String?

    func run() throws {
        let tokenURL = URL(fileURLWithPath: tokens)
        let vocabURL = vocab.map { URL(fileURLWithPath: $0) }
            ?? tokenURL.deletingLastPathComponent().appendingPathComponent("vocab.json")
        let file = try TokenFile.read(from: tokenURL)
        let vocabulary = try Vocabulary.load(from: vocabURL)
        guard file.vocabularySize == vocabulary.count else {
            throw REMIError.invalidTokenFile(reason:
                "\(tokens) was written for a vocabulary of \(file.vocabularySize) tokens, \(vocabURL.path) has \(vocabulary.count)")
        }
        let midi = REMITokenizer(vocabulary: vocabulary).decode(ids: file.ids)
        try midi.write(to: URL(fileURLWithPath: out))
        print("wrote \(out): \(midi.noteCount) notes, \(midi.tempoChanges.count) tempo changes, \(file.ids.count) tokens")
    }
}
