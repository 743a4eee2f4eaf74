import Foundation

/// Why a corpus could not be found, listed, split or cached; each case names what and where.
public enum CorpusError: Error, CustomStringConvertible, Equatable {
    /// The data path does not exist.
    case dataNotFound(path: String)
    /// A folder (searched recursively) holds no `.mid`/`.midi` file.
    case noMIDIFiles(path: String)
    /// A list or CSV file names no file at all.
    case emptyList(path: String)
    /// A CSV lacks a required column (`midi_filename`).
    case missingColumn(path: String, column: String)
    /// A line of a list or CSV file could not be read.
    case malformedLine(path: String, line: Int, reason: String)
    /// Split ratios must be non-negative and sum to at most 1 with a positive training share.
    case invalidSplitRatios(validation: Double, test: Double)
    /// The token cache folder could not be created or written.
    case cacheUnwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .dataNotFound(path): return "data path \(path) does not exist"
        case let .noMIDIFiles(path): return "no MIDI files (.mid, .midi) found in \(path) or its subfolders"
        case let .emptyList(path): return "\(path) lists no files"
        case let .missingColumn(path, column): return "CSV \(path) has no '\(column)' column in its header"
        case let .malformedLine(path, line, reason): return "\(path) line \(line): \(reason)"
        case let .invalidSplitRatios(v, t):
            return "split ratios validation \(v) and test \(t) must be >= 0 and leave a positive share for training"
        case let .cacheUnwritable(path, reason): return "cannot write the token cache at \(path): \(reason)"
        }
    }
}
