import Foundation
import MIDI

/// Turns what a user names on the command line into a list of MIDI files, with the same data
/// options as `cadenza train` (Training's `CorpusSource`): a MIDI file itself, a folder (searched
/// recursively; a folder holding a MAESTRO-style CSV is read through it), a list file, or a
/// MAESTRO-style CSV; `split` keeps one split (the CSV's split column, or the hash split by
/// `ratios` when there is none).
public enum MIDICollection {

    /// The MIDI files named by `paths`, in the order given (each corpus sorted by path).
    /// - Throws: `TrainingError` naming the path when it is missing, empty or malformed.
    public static func files(
        _ paths: [String], split: Split? = nil,
        ratios: SplitRatios = SplitRatios()
    ) throws -> [URL] {
        var result: [URL] = []
        for path in paths {
            let url = URL(fileURLWithPath: path)
            if MIDICorpus.isMIDIName(url.lastPathComponent) {
                guard FileManager.default.fileExists(atPath: url.path) else {
                    throw CorpusError.dataNotFound(path: path)
                }
                result.append(url)
                continue
            }
            let corpus = try CorpusSource.files(at: path, ratios: ratios).files
            result += corpus.filter { split == nil || $0.split == split }.map { URL(fileURLWithPath: $0.path) }
        }
        return result
    }
}
