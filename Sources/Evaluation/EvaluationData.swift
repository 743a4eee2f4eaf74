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
    /// Control tokens added to `tokens` (see `load`'s `controls`); 0 for the plain stream.
    public var controlTokens = 0
    /// Notes per token of the music alone (without control tokens).
    public var notesPerMusicToken = 0.0

    /// Loads `split` of the corpus at `path` (every file when `split` is nil); `maximumTokens`
    /// 0 keeps every token. With `controls` and a tokenizer that has control tokens, each
    /// sampled piece gets them as training pieces do (docs/control.md): after every `Bar`, the
    /// key measured on the piece and the bar's density (no style), so the same music is read
    /// as the model learnt it; the sample is chosen on the plain pieces, so it is the same
    /// music as a plain model's.
    public static func load(
        path: String, ratios: SplitRatios, split: Split?, tokenizer: REMITokenizer,
        cacheFolder: URL?, maximumTokens: Int, controls: Bool = true
    ) throws -> EvaluationData {
        let (files, _) = try CorpusSource.files(at: path, ratios: ratios)
        let chosen = files.filter { split == nil || $0.split == split }
        let corpus = try TokenCache(folder: cacheFolder, tokenizer: tokenizer).load(chosen)
        // The same sample training validates on: whole pieces in a fixed shuffled order up to
        // the token budget (`validationSample`), all of them in corpus order when they fit.
        let pieces = split.map { corpus.pieces(of: $0) } ?? corpus.pieces.map(\.ids)
        let plain = validationSample(pieces, tokens: maximumTokens)
        var data = EvaluationData(tokens: plain, files: chosen.count, skipped: corpus.skipped)
        data.notesPerMusicToken = Perplexity.notesPerToken(plain, vocabulary: tokenizer.vocabulary)
        guard controls && tokenizer.hasControls else { return data }
        let end = Int32(tokenizer.vocabulary.endOfPieceID)
        data.tokens = plain.split(separator: end, omittingEmptySubsequences: false).enumerated().flatMap {
            index, piece -> [Int32] in
            let headed = tokenizer.withHeaders(
                Array(piece), style: nil, key: tokenizer.key(ofIDs: piece), density: true)
            return index == 0 ? headed : [end] + headed
        }
        data.controlTokens = data.tokens.count - plain.count
        return data
    }
}
