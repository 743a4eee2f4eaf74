import Basics
import Foundation
import REMI

/// The file names of `--out` and `--tokens-out` for each piece.
struct OutputNames {
    let out: String?, tokensOut: String?, count: Int

    /// The MIDI file of the piece drawn with `seed`.
    func midi(seed: UInt64) throws -> URL {
        try name(out ?? (count == 1 ? "generated.mid" : "generated"), seed: seed, fileExtensions: ["mid", "midi"])
    }

    /// The token file of the piece drawn with `seed`, if asked for.
    func tokens(seed: UInt64) throws -> URL? {
        try tokensOut.map { try name($0, seed: seed, fileExtensions: ["remi", "txt"]) }
    }

    /// Writes `ids` to the token file of the piece drawn with `seed`, if one was asked for: a
    /// readable listing for a `.txt` name, else a token file.
    func writeTokens(_ ids: [Int], seed: UInt64, tokenizer: REMITokenizer) throws {
        guard let url = try tokens(seed: seed) else { return }
        if url.pathExtension == "txt" {
            try AtomicFile.write(tokenizer.dump(ids: ids) + "\n", to: url)
        } else {
            try TokenFile(vocabulary: tokenizer.vocabulary, ids: ids).write(to: url)
        }
    }

    /// Throws unless every output can be written: a file name's folder must exist, a folder
    /// must exist or be creatable. Run before the model is loaded, so no piece is computed
    /// only to find it cannot be saved.
    func check() throws {
        for (given, extensions) in [(midiName, ["mid", "midi"]), (tokensOut, ["remi", "txt"])] {
            guard let given else { continue }
            let url = URL(fileURLWithPath: given)
            if Self.isFileName(url, fileExtensions: extensions) {
                try OutputPath.checkFile(url)
            } else {
                try OutputPath.checkFolder(url)
            }
        }
    }

    /// Writes `vocab.json` beside the token files, so that `cadenza detokenize` reads them with
    /// no flags; refuses a folder whose `vocab.json` is another vocabulary.
    func writeVocabulary(_ vocabulary: Vocabulary) throws {
        guard let tokensOut else { return }
        let url = URL(fileURLWithPath: tokensOut)
        let isFile = Self.isFileName(url, fileExtensions: ["remi", "txt"])
        if isFile && url.pathExtension.lowercased() == "txt" { return }
        let folder = isFile ? url.deletingLastPathComponent() : url
        let vocabularyURL = folder.appendingPathComponent("vocab.json")
        if vocabulary.differs(fromFileAt: vocabularyURL) {
            throw CommandFailure(
                "\(vocabularyURL.path) is another vocabulary (another model or tokenizer config): token "
                    + "files written beside it would not decode with it; choose another --tokens-out folder")
        }
        try OutputPath.createFolder(folder)
        try vocabulary.save(to: vocabularyURL)
    }

    private var midiName: String? { out ?? (count == 1 ? "generated.mid" : "generated") }

    /// One piece: the name itself. Several: `<folder>/piece-<seed>.<ext>`, or
    /// `<stem>-<seed>.<ext>` when the name is a file name. A name is a file name when it ends
    /// in one of `fileExtensions` (the first is the default) and is not an existing folder, so
    /// a folder such as `takes-t1.1` stays a folder.
    static func isFileName(_ url: URL, fileExtensions: [String]) -> Bool {
        var isFolder: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder)
        return fileExtensions.contains(url.pathExtension.lowercased()) && !(exists && isFolder.boolValue)
    }

    private func name(_ given: String, seed: UInt64, fileExtensions: [String]) throws -> URL {
        let url = URL(fileURLWithPath: given)
        let fileExtension = fileExtensions[0]
        let isFile = Self.isFileName(url, fileExtensions: fileExtensions)
        if count == 1 && isFile { return url }
        if isFile {
            let stem = url.deletingPathExtension().lastPathComponent
            return url.deletingLastPathComponent().appendingPathComponent("\(stem)-\(seed).\(url.pathExtension)")
        }
        try OutputPath.createFolder(url)
        return url.appendingPathComponent("piece-\(seed).\(fileExtension)")
    }
}
