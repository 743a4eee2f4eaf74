import Foundation
import REMI
import Corpus

/// The token sequence a model is evaluated on: one split of a corpus, found and tokenized
/// exactly as training finds its validation data (`TrainingData.load`): `CorpusSource` for a
/// folder, list or MAESTRO-style CSV, the token cache, and the split's pieces (each ends with
/// end-of-piece) sampled by training's `validationSample` up to `maximumTokens`.
public struct EvaluationData: Sendable {
    /// The joined ids.
    public var tokens: [Int32]
    /// Files in the split.
    public var files: Int
    /// Files that could not be read or tokenized (path and reason).
    public var skipped: [SkippedFile]

    /// Loads `split` of the corpus at `path` (every file when `split` is nil); `maximumTokens`
    /// 0 keeps every token.
    public static func load(
        path: String, ratios: SplitRatios, split: Split?, tokenizer: REMITokenizer,
        cacheFolder: URL?, maximumTokens: Int
    ) throws -> EvaluationData {
        let (files, _) = try CorpusSource.files(at: path, ratios: ratios)
        let chosen = files.filter { split == nil || $0.split == split }
        let corpus = try TokenCache(folder: cacheFolder, tokenizer: tokenizer).load(chosen)
        // The same sample training validates on: whole pieces in a fixed shuffled order up to
        // the token budget (`validationSample`), all of them in corpus order when they fit.
        let pieces = split.map { corpus.pieces(of: $0) } ?? corpus.pieces.map(\.ids)
        let tokens = validationSample(pieces, tokens: maximumTokens)
        return EvaluationData(tokens: tokens, files: chosen.count, skipped: corpus.skipped)
    }
}
