import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks made before a command does its work, so that a piece is not computed only to find
/// that it cannot be saved.
public enum OutputPath {
    /// Throws unless a file can be written at `url`: it is not a folder nor anything else a file
    /// cannot replace (a device, a FIFO), and its folder (a symbolic link's target's) exists and
    /// is writable (or, with `createsFolders`, the nearest existing folder above it is).
    /// - Throws: `FileError.cannotWrite` naming the path and the reason.
    public static func checkFile(_ url: URL, createsFolders: Bool = false) throws {
        let folder = try AtomicFile.destination(of: url).0.deletingLastPathComponent()
        if createsFolders {
            try checkFolder(folder, for: url)
        } else {
            try checkExistingFolder(folder, for: url)
        }
    }

    /// Throws unless `url` is a writable folder or can be created as one.
    /// - Throws: `FileError.cannotWrite` naming the path and the reason.
    public static func checkFolder(_ url: URL) throws {
        try checkFolder(url, for: url)
    }

    private static func checkFolder(_ folder: URL, for target: URL) throws {
        var isFolder: ObjCBool = false
        var existing = folder.standardizedFileURL
        while !FileManager.default.fileExists(atPath: existing.path, isDirectory: &isFolder) {
            let parent = existing.deletingLastPathComponent()
            if parent.path == existing.path { break }
            existing = parent
        }
        try checkExistingFolder(existing, for: target)
    }

    private static func checkExistingFolder(_ folder: URL, for target: URL) throws {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isFolder) else {
            throw FileError.cannotWrite(path: target.path, reason: "the folder \(folder.path) does not exist")
        }
        guard isFolder.boolValue else {
            throw FileError.cannotWrite(path: target.path, reason: "\(folder.path) is not a folder")
        }
        guard access(folder.path, W_OK) == 0 else {
            throw FileError.cannotWrite(path: target.path, reason: FileError.reason(errno, folder: folder))
        }
    }

    /// Whether paths `a` and `b` name the same file: the same file system entry where both
    /// exist (whatever links or spellings lead there), else the same path once resolved.
    public static func isSameFile(_ a: String, _ b: String) -> Bool {
        var first = stat(), second = stat()
        if stat(a, &first) == 0 && stat(b, &second) == 0 {
            return first.st_dev == second.st_dev && first.st_ino == second.st_ino
        }
        func resolved(_ path: String) -> String {
            URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        }
        return resolved(a) == resolved(b)
    }

    /// Creates `url` and the folders above it as needed.
    /// - Throws: `FileError.cannotWrite` naming the folder and the reason.
    public static func createFolder(_ url: URL) throws {
        do {
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        } catch {
            try checkFolder(url)
            throw FileError.cannotWrite(path: url.path, reason: "the folder cannot be created")
        }
    }
}
