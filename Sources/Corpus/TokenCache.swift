import Basics
import Dispatch
import Foundation
import MIDI
import REMI

/// A file the corpus loader could not use, and why.
public struct SkippedFile: Equatable, Sendable {
    /// The file's path.
    public var path: String
    /// The reader's or tokenizer's error, as a person reads it.
    public var reason: String
}

/// The token ids of every usable corpus file, by split, in corpus order.
public struct TokenizedCorpus: Sendable {
    /// Each usable file with its ids (ending with the end-of-piece id).
    public var pieces: [(file: CorpusFile, ids: [Int32])]
    /// Files that could not be read or tokenized.
    public var skipped: [SkippedFile]
    /// How many files were tokenized now (the rest came from the cache).
    public var tokenizedCount: Int

    /// The ids of the pieces of `split`, one array per piece.
    public func pieces(of split: Split) -> [[Int32]] { pieces.filter { $0.file.split == split }.map(\.ids) }

    /// The number of tokens in `split`.
    public func tokenCount(of split: Split) -> Int {
        pieces.reduce(0) { $0 + ($1.file.split == split ? $1.ids.count : 0) }
    }

    /// A stable fingerprint of what a split holds (ids and order), recorded in checkpoints so a
    /// resumed run can tell when its data changed underneath it.
    public func fingerprint(of split: Split) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for piece in pieces where piece.file.split == split {
            h = FNV1a.hash(Array(piece.file.relativePath.utf8), seed: h)
            piece.ids.withUnsafeBytes { h = FNV1a.hash($0, seed: h) }
        }
        return FNV1a.hex(h)
    }
}

/// Tokenizes corpus files once: each file's ids are stored under a key made of the file's
/// content hash, in a folder named by the hash of the tokenizer config, so a second run reads
/// them at once and a changed config (or a changed file) is tokenized again.
///
/// Layout: `<folder>/<config hash>/<content hash>.remi` in `cadenza tokenize`'s token file
/// format, plus `<config hash>/tokenizer.json` naming the config. Writes go to a temporary
/// name first, then are renamed, so an interrupted run never leaves half a cache entry.
public struct TokenCache: Sendable {
    /// The cache root (created when needed); nil disables caching.
    public var folder: URL?
    /// The tokenizer.
    public var tokenizer: REMITokenizer

    /// A cache in `folder` for `tokenizer`.
    public init(folder: URL?, tokenizer: REMITokenizer) {
        self.folder = folder
        self.tokenizer = tokenizer
    }

    /// The default cache folder: `$XDG_CACHE_HOME/cadenza/tokens`, else `~/.cache/cadenza/tokens`.
    public static var defaultFolder: URL {
        let environment = ProcessInfo.processInfo.environment
        let base =
            environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("cadenza/tokens")
    }

    /// The hash naming this tokenizer's config folder.
    public var configKey: String {
        FNV1a.hex(FNV1a.hash((try? tokenizer.config.jsonData()) ?? Data()))
    }

    /// Reads and tokenizes `files` (from the cache where possible), in parallel over `threads`
    /// threads (default: every core); unreadable files are listed in `skipped` and left out.
    /// The result does not depend on the thread count.
    public func load(_ files: [CorpusFile], threads: Int? = nil) throws -> TokenizedCorpus {
        let configFolder = folder?.appendingPathComponent(configKey)
        if let configFolder {
            do {
                try FileManager.default.createDirectory(at: configFolder, withIntermediateDirectories: true)
                let configFile = configFolder.appendingPathComponent("tokenizer.json")
                if !FileManager.default.fileExists(atPath: configFile.path) {
                    try AtomicFile.write(tokenizer.config.jsonData(), to: configFile)
                }
            } catch {
                throw CorpusError.cacheUnwritable(path: configFolder.path, reason: error.localizedDescription)
            }
        }
        enum Outcome { case ids([Int32], fresh: Bool), failed(String) }
        var outcomes = [Outcome](repeating: .failed("not read"), count: files.count)
        let lock = NSLock()
        let workers = max(1, min(threads ?? ProcessInfo.processInfo.activeProcessorCount, files.count))
        DispatchQueue.concurrentPerform(iterations: workers) { worker in
            for index in stride(from: worker, to: files.count, by: workers) {
                let outcome = loadOne(files[index], configFolder: configFolder)
                lock.lock(); outcomes[index] = outcome; lock.unlock()
            }
        }
        func loadOne(_ file: CorpusFile, configFolder: URL?) -> Outcome {
            let data: Data
            switch Result(catching: {
                try FileContents.data(at: URL(fileURLWithPath: file.path), maximumBytes: MIDIFile.maximumFileBytes)
            }) {
            case let .success(bytes): data = bytes
            case let .failure(FileError.cannotRead(_, reason)): return .failed(reason)
            case let .failure(error): return .failed("\(error)")
            }
            let key = FNV1a.hex(FNV1a.hash(data, seed: UInt64(data.count)))
            let entry = configFolder?.appendingPathComponent(key + ".remi")
            if let entry, let cached = try? TokenFile.read(from: entry),
                cached.vocabularyFingerprint == tokenizer.vocabulary.fingerprint
            {
                return .ids(cached.ids.map { Int32($0) }, fresh: false)
            }
            do {
                let ids = try tokenizer.tokenize(MIDIFile(data: data))
                if let entry {
                    // A failed cache write only costs a re-tokenization next time.
                    try? TokenFile(vocabulary: tokenizer.vocabulary, ids: ids).write(to: entry)
                }
                return .ids(ids.map { Int32($0) }, fresh: true)
            } catch {
                return .failed("\(error)")
            }
        }
        var corpus = TokenizedCorpus(pieces: [], skipped: [], tokenizedCount: 0)
        for (file, outcome) in zip(files, outcomes) {
            switch outcome {
            case let .ids(ids, fresh):
                corpus.pieces.append((file, ids))
                if fresh { corpus.tokenizedCount += 1 }
            case let .failed(reason): corpus.skipped.append(SkippedFile(path: file.path, reason: reason))
            }
        }
        return corpus
    }
}
