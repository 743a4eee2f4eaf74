import Foundation

/// Where ../shared/data lies, found from this file's path so that any worktree or clone works.
enum SharedData {
    /// `<package root>/../shared/data`.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/data")

    /// The REMI golden folder.
    static let remiReference = root.appendingPathComponent("reference/remi")

    /// True when the shared corpora are present (tests that need them skip otherwise).
    static var isPresent: Bool {
        FileManager.default.fileExists(atPath: remiReference.appendingPathComponent("index.tsv").path)
    }

    /// Every `.mid`/`.midi` file under `folder`, sorted by path.
    static func midiFiles(under folder: URL) -> [URL] {
        guard let walker = FileManager.default.enumerator(at: folder, includingPropertiesForKeys: nil) else {
            return []
        }
        var files: [URL] = []
        for case let url as URL in walker where ["mid", "midi"].contains(url.pathExtension.lowercased()) {
            files.append(url)
        }
        return files.sorted { $0.path < $1.path }
    }
}
