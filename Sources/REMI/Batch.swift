import Basics
import Dispatch
import Foundation
import MIDI

/// One MIDI file to tokenize, and where its token file goes (nil: keep the ids in memory only).
public struct TokenizeJob: Sendable {
    /// The MIDI file.
    public var input: URL
    /// The token file to write (`TokenFile` format), or nil.
    public var output: URL?
    /// Creates a job.
    public init(input: URL, output: URL? = nil) {
        self.input = input
        self.output = output
    }
}

/// What tokenizing one file gave: its ids and counts, or the reason it failed.
public struct TokenizeOutcome: Sendable {
    /// The MIDI file's path.
    public var path: String
    /// The token ids (events plus end of piece); empty when the file failed or ids were not kept.
    public var ids: [Int]
    /// Number of ids written.
    public var tokenCount: Int
    /// Notes encoded (`Note On` events).
    public var notes: Int
    /// Bars written.
    public var bars: Int
    /// Why the file failed (reading, encoding or writing), or nil.
    public var error: String?
    /// False when the file was never started because a stop was requested.
    public var started = true

    /// Creates an outcome.
    public init(path: String, ids: [Int] = [], tokenCount: Int = 0, notes: Int = 0, bars: Int = 0, error: String? = nil)
    {
        self.path = path
        self.ids = ids
        self.tokenCount = tokenCount
        self.notes = notes
        self.bars = bars
        self.error = error
    }
}

/// The MIDI files named by some paths, and the paths that do not exist.
public struct MIDIFileList: Sendable {
    /// Each file found, with its path relative to the folder it was found in (just its name
    /// for a file given directly), so that outputs can mirror the input tree.
    public var files: [(url: URL, relativePath: String)] = []
    /// Paths given that do not exist.
    public var missing: [String] = []

    /// Lists the MIDI files named by `paths`: files, or folders searched recursively for
    /// `.mid`/`.midi` files (sorted by path within each folder; hidden entries skipped, as
    /// `MIDICorpus.search` says).
    public init(paths: [String]) {
        for path in paths {
            guard FileManager.default.fileExists(atPath: path) else {
                missing.append(path)
                continue
            }
            let root = URL(fileURLWithPath: path).standardizedFileURL
            guard let inFolder = MIDICorpus.search(folder: path) else {
                files.append((root, root.lastPathComponent))
                continue
            }
            files += inFolder.map { (root.appendingPathComponent($0).standardizedFileURL, $0) }
        }
    }
}

extension REMITokenizer {
    /// Tokenizes every job on `threads` threads; a file that fails is reported in its outcome
    /// and the others go on. Outcomes come back in job order. `keepIDs: false` drops the ids
    /// after counting (and writing) them, to save memory on large corpora. Once `shouldStop`
    /// answers true (Ctrl-C), jobs not yet started are left out and come back with
    /// `started == false`; a file being written is finished first.
    public func tokenizeFiles(
        _ jobs: [TokenizeJob], threads: Int = 1, keepIDs: Bool = true,
        shouldStop: @escaping @Sendable () -> Bool = { false }
    ) -> [TokenizeOutcome] {
        var outcomes = [TokenizeOutcome?](repeating: nil, count: jobs.count)
        let workers = max(1, min(threads, jobs.count))
        let barID = vocabulary.id(for: .bar),
            noteRange = (vocabulary.id(for: .noteOn(0)) ?? 0)...(vocabulary.id(for: .noteOn(127)) ?? 0)
        outcomes.withUnsafeMutableBufferPointer { slots in
            let slots = slots  // each worker writes only its own indices
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                for i in stride(from: worker, to: jobs.count, by: workers) {
                    let job = jobs[i]
                    var outcome = TokenizeOutcome(
                        path: job.input.path, ids: [], tokenCount: 0, notes: 0, bars: 0, error: nil)
                    if shouldStop() {
                        outcome.started = false
                        slots[i] = outcome
                        continue
                    }
                    do {
                        let ids = try tokenize(MIDIFile(contentsOf: job.input))
                        outcome.tokenCount = ids.count
                        for id in ids {
                            if id == barID { outcome.bars += 1 } else if noteRange.contains(id) { outcome.notes += 1 }
                        }
                        if let output = job.output {
                            try OutputPath.createFolder(output.deletingLastPathComponent())
                            try TokenFile(vocabulary: vocabulary, ids: ids).write(to: output)
                        }
                        if keepIDs { outcome.ids = ids }
                    } catch {
                        outcome.error = "\(error)"
                    }
                    slots[i] = outcome
                }
            }
        }
        return outcomes.map { $0! }
    }
}
