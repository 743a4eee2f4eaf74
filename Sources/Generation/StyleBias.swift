import Basics
import Foundation
import REMI

/// A learned bias on the next-token logits for each style (issue 17, docs/control.md "Style").
///
/// A `Style` token in the stream tells the model the composer, but the model, having read a
/// few bars, already knows as much as it can use, and learns to ignore the token. The bias is a
/// pathway the context cannot explain away: with a style asked, `generic + offsets[style]` is
/// added to every logit the model gives. Both parts are fitted with the model frozen
/// (`StyleBiasFitting` in Training): `generic` on the openings of every style's training
/// pieces, then each style's offset on its own pieces with an L2 pull towards zero, so that a
/// style with few pieces keeps a small offset and reads much as the shared part.
///
/// Stored as `style-bias.json` beside the weights in a model folder; a model without the file
/// writes and scores as before.
public struct StyleBias: Codable, Equatable, Sendable {
    /// The file name inside a model folder.
    public static let fileName = "style-bias.json"

    /// The style names, in the tokenizer's order (`TokenizerConfig.styles`).
    public var styles: [String]
    /// Ids the model predicts.
    public var vocabularySize: Int
    /// The part shared by all styles, one value per id.
    public var generic: [Float]
    /// Each style's own part, one value per id (zeros for a style without training pieces).
    public var offsets: [[Float]]
    /// Tokens from the start of each training piece the bias was fitted on.
    public var fittedTokens: Int
    /// Training pieces read for each style (0: the offset is zero).
    public var pieces: [Int]

    private enum CodingKeys: String, CodingKey {
        case styles, vocabularySize = "vocabulary_size", generic, offsets, fittedTokens = "fitted_tokens", pieces
    }

    /// A bias; `offsets` and `pieces` hold one entry per style.
    public init(
        styles: [String], vocabularySize: Int, generic: [Float], offsets: [[Float]], fittedTokens: Int, pieces: [Int]
    ) {
        self.styles = styles
        self.vocabularySize = vocabularySize
        self.generic = generic
        self.offsets = offsets
        self.fittedTokens = fittedTokens
        self.pieces = pieces
    }

    /// The styles fitted on training pieces (the others keep the shared part only).
    public var fittedStyles: [String] { zip(styles, pieces).filter { $0.1 > 0 }.map(\.0) }

    /// The bias added to the logits while `style` (an index into `styles`) is asked.
    public func row(style: Int) -> [Float] {
        guard offsets.indices.contains(style) else { return generic }
        return zip(generic, offsets[style]).map { $0 + $1 }
    }

    /// Why this bias cannot serve a model with `tokenizer`, or nil when it can.
    public func mismatch(with tokenizer: REMITokenizer) -> String? {
        if vocabularySize != tokenizer.vocabulary.count {
            return "it was fitted for \(vocabularySize) ids, the model predicts \(tokenizer.vocabulary.count)"
        }
        if styles != tokenizer.config.styles {
            return "its styles (\(styles.joined(separator: ", "))) are not the model's "
                + "(\(tokenizer.config.styles.joined(separator: ", ")))"
        }
        if generic.count != vocabularySize || offsets.count != styles.count || pieces.count != styles.count
            || offsets.contains(where: { $0.count != vocabularySize })
        {
            return "its rows do not have one value per id and one row per style"
        }
        if generic.contains(where: { !$0.isFinite }) || offsets.contains(where: { $0.contains { !$0.isFinite } }) {
            return "it holds a value that is not a finite number"
        }
        return nil
    }

    /// The bias in the model folder `folder` for `tokenizer`: nil when the folder has none.
    /// - Throws: `ModelFolderError.unreadable` when the file cannot be read or was fitted for
    ///   another model.
    public static func read(from folder: URL, for tokenizer: REMITokenizer) throws -> StyleBias? {
        let url = folder.appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        func fail(_ reason: String) -> ModelFolderError {
            .unreadable(path: folder.path, reason: "\(fileName): \(reason)")
        }
        let data: Data
        do { data = try FileContents.data(at: url) } catch { throw fail("\(error)") }
        let bias: StyleBias
        do { bias = try JSONDecoder().decode(StyleBias.self, from: data) } catch {
            throw fail("not a style bias (\(JSONKeys.describe(error)))")
        }
        if let problem = bias.mismatch(with: tokenizer) { throw fail(problem) }
        return bias
    }

    /// Writes `style-bias.json` into `folder`, whole or not at all.
    public func write(to folder: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try AtomicFile.write(encoder.encode(self), to: folder.appendingPathComponent(Self.fileName))
    }
}
