import Foundation
import REMI

/// Where ../shared/data lies, found from this file's path so that any worktree or clone works.
enum GenerationSharedData {
    /// `<package root>/../shared/data`.
    static let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data")

    /// The POP909 corpus (beat-aligned, chords and tempo changes: every grammar rule occurs).
    static let pop909 = root.appendingPathComponent("pop909")
    /// The maestro-asap corpus.
    static let maestro = root.appendingPathComponent("maestro-asap")

    /// True when the shared corpora are present (tests that need them skip otherwise).
    static var isPresent: Bool { FileManager.default.fileExists(atPath: pop909.path) }

    /// The first `count` `.mid` files under `folder`, sorted by path.
    static func midiFiles(under folder: URL, count: Int) -> [URL] {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else {
            return []
        }
        var files: [URL] = []
        for case let url as URL in walker where ["mid", "midi"].contains(url.pathExtension.lowercased()) {
            files.append(url)
        }
        return Array(files.sorted { $0.path < $1.path }.prefix(count))
    }
}

/// Ids of the default vocabulary by event, for writing hand-made prefixes.
struct Ids {
    let vocabulary: Vocabulary
    init() throws { vocabulary = try Vocabulary() }
    init(vocabularyUnchecked vocabulary: Vocabulary) { self.vocabulary = vocabulary }
    func callAsFunction(_ event: REMIEvent) -> Int { vocabulary.id(for: event)! }
    var bar: Int { self(.bar) }
    var end: Int { self(.endOfPiece) }
    func position(_ p: Int) -> Int { self(.position(p)) }
    /// `Position p, Note Velocity 20, Note On pitch, Note Duration 7`.
    func note(at p: Int, pitch: Int) -> [Int] {
        [self(.position(p)), self(.velocity(20)), self(.noteOn(pitch)), self(.duration(7))]
    }
}
