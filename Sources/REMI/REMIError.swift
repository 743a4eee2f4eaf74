/// What can go wrong when configuring the tokenizer, encoding a file or reading its files.
public enum REMIError: Error, Equatable, CustomStringConvertible, Sendable {
    /// A configuration value is out of range or inconsistent; `field` names it.
    case invalidConfig(field: String, reason: String)
    /// The MIDI file uses SMPTE time, which has no beats to put on a bar grid.
    case smpteTimeUnsupported
    /// The file's ticks per beat is not positive.
    case invalidDivision(ticksPerBeat: Int)
    /// The last note starts so late that the piece would have more bars than `limit`.
    case pieceTooLong(bars: Int, limit: Int)
    /// The file has a time signature other than 4/4 and the config says to reject such files.
    case nonFourFourTimeSignature(tick: Int, numerator: Int, denominator: Int)
    /// With metres followed, the file has a metre bars cannot follow (numerator above 16, or a
    /// denominator other than 2, 4, 8, 16).
    case unsupportedTimeSignature(tick: Int, numerator: Int, denominator: Int)
    /// A vocabulary file could not be understood: `reason` says why, `token` which entry.
    case invalidVocabulary(token: String?, reason: String)
    /// The vocabulary is too large for 16-bit token files.
    case vocabularyTooLargeForTokenFile(size: Int)
    /// A path given to tokenize does not exist.
    case missingInput(path: String)
    /// A token file is damaged or not a token file.
    case invalidTokenFile(reason: String)
    /// A token file was written with another vocabulary (or tokenizer config) than the one given.
    case vocabularyMismatch(
        tokenFile: String, tokenFingerprint: String, vocabulary: String, vocabularyFingerprint: String)
    /// A folder already holds a vocabulary other than the one about to be written there.
    case folderHasOtherVocabulary(path: String)

    public var description: String {
        switch self {
        case let .invalidConfig(field, reason):
            return "tokenizer config: '\(field)' \(reason)"
        case .smpteTimeUnsupported:
            return "the MIDI file uses SMPTE (time-code) division; REMI needs ticks per beat"
        case let .invalidDivision(ticksPerBeat):
            return "the MIDI file says \(ticksPerBeat) ticks per beat; it must be positive"
        case let .pieceTooLong(bars, limit):
            return
                "the last note starts in bar \(bars); REMI pieces are limited to \(limit) bars, a fixed limit "
                + "(docs/limits.md): is a tick value corrupt?"
        case let .nonFourFourTimeSignature(tick, numerator, denominator):
            return
                "time signature \(numerator)/\(denominator) at tick \(tick); the config rejects files that are not in "
                + "4/4 (set nonFourFour to \"fourFourGrid\" to lay them on a 4/4 grid)"
        case let .unsupportedTimeSignature(tick, numerator, denominator):
            return
                "time signature \(numerator)/\(denominator) at tick \(tick) is not a metre REMI bars can follow: "
                + "numerators 1...\(TokenizerConfig.maximumMeterNumerator) over "
                + "\(TokenizerConfig.meterDenominators.map(String.init).joined(separator: ", "))"
        case let .invalidVocabulary(token, reason):
            return "vocabulary: \(reason)" + (token.map { " (token '\($0)')" } ?? "")
        case let .vocabularyTooLargeForTokenFile(size):
            return "a vocabulary of \(size) tokens does not fit 16-bit token files (at most 65,536)"
        case let .missingInput(path):
            return "no such file or folder: \(path)"
        case let .invalidTokenFile(reason):
            return "token file: \(reason)"
        case let .vocabularyMismatch(tokenFile, tokenFingerprint, vocabulary, vocabularyFingerprint):
            return "\(tokenFile) was written with vocabulary \(tokenFingerprint), but \(vocabulary) is vocabulary "
                + "\(vocabularyFingerprint) (another tokenizer config): decoding it would give wrong music. "
                + "Pass --vocab with the vocab.json it was written with"
        case let .folderHasOtherVocabulary(path):
            return "\(path) already holds another vocabulary (another tokenizer config): its token files would no "
                + "longer decode. Choose another folder, or pass --overwrite to replace it"
        }
    }
}
