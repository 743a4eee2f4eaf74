import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Files written whole or not at all.
///
/// Every file Cadenza writes goes through here: the bytes go to a hidden temporary file in
/// the destination's folder (`.NAME.partial-PID`), which is renamed over the destination only
/// when complete. A rename within one folder is atomic, so a reader, a crash or Ctrl-C sees
/// either the old file, the new one or none; never a part. Writes run inside
/// `Interruption.whileWriting`, so a signal waits for the rename.
///
/// A rename replaces whatever has the name, so the destination is checked first: a symbolic
/// link is followed (its target is replaced, the link kept), an existing file keeps its
/// permissions, and anything that is not a regular file (a device such as /dev/null, a FIFO, a
/// socket) is refused rather than replaced by a file.
public enum AtomicFile {
    /// Writes `data` to `url`, replacing any file there.
    /// - Throws: `FileError.cannotWrite` naming the path and the reason.
    public static func write(_ data: Data, to url: URL) throws {
        try Interruption.whileWriting {
            let writer = try Writer(url)
            do {
                try writer.append(data)
                try writer.commit()
            } catch {
                writer.discard()
                throw error
            }
        }
    }

    /// Writes `bytes` to `url`, replacing any file there.
    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try write(Data(bytes), to: url)
    }

    /// Writes `text` as UTF-8 to `url`, replacing any file there.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// Has `produce` write the file (another program, say) at the temporary path it is given,
    /// then renames it into place as `write` does; on any error the temporary file is removed
    /// and `url` is left as it was.
    public static func write(to url: URL, by produce: (URL) throws -> Void) throws {
        let (destination, existingMode) = try destination(of: url)
        let temporary = temporaryURL(for: destination)
        unlink(temporary.path)
        do {
            try produce(temporary)
            try Interruption.whileWriting {
                if let existingMode { chmod(temporary.path, existingMode) }
                guard rename(temporary.path, destination.path) == 0 else {
                    throw FileError.cannotWrite(url, errno: errno)
                }
            }
        } catch {
            unlink(temporary.path)
            throw error
        }
    }

    /// The file that writing `url` replaces, following symbolic links, and the permissions of
    /// the regular file there (nil when there is none yet).
    /// - Throws: `FileError.cannotWrite` when `url` is a folder, a device, a FIFO or a socket,
    ///   or a chain of links too long to follow.
    static func destination(of url: URL) throws -> (URL, mode_t?) {
        var path = url.path
        for _ in 0..<32 {
            var info = stat()
            guard lstat(path, &info) == 0 else { return (URL(fileURLWithPath: path), nil) }  // a new file
            switch info.st_mode & S_IFMT {
            case S_IFREG:
                return (URL(fileURLWithPath: path), info.st_mode & 0o7777)
            case S_IFDIR:
                throw FileError.cannotWrite(path: url.path, reason: "it is a folder")
            case S_IFLNK:
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) else {
                    throw FileError.cannotWrite(path: url.path, reason: "its symbolic link cannot be read")
                }
                path =
                    target.hasPrefix("/")
                    ? target
                    : URL(fileURLWithPath: path).deletingLastPathComponent().appendingPathComponent(target).path
            default:
                throw FileError.cannotWrite(
                    path: url.path,
                    reason: "it is not a regular file (a device, FIFO or socket), which a file cannot replace")
            }
        }
        throw FileError.cannotWrite(path: url.path, reason: "too many levels of symbolic links")
    }

    /// The hidden name a file is written under before it is renamed into place.
    public static func temporaryURL(for url: URL) -> URL {
        url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).partial-\(getpid())")
    }

    /// A file written in pieces (a long WAV, say), which appears at its name only on `commit()`.
    /// Call `discard()` on failure; a writer neither committed nor discarded leaves its hidden
    /// temporary file behind.
    public final class Writer {
        /// Where the file goes on `commit()`, as given.
        public let url: URL
        /// The file `url` names: the target of a symbolic link, else `url`.
        private let destination: URL
        private let temporary: URL
        private var descriptor: Int32
        /// Bytes appended so far.
        public private(set) var byteCount = 0

        /// Opens the hidden temporary file for `url`.
        /// - Throws: `FileError.cannotWrite` when `url` is a folder or not a regular file, or the
        ///   temporary file cannot be created.
        public init(_ url: URL) throws {
            self.url = url
            let (destination, existingMode) = try AtomicFile.destination(of: url)
            self.destination = destination
            temporary = AtomicFile.temporaryURL(for: destination)
            unlink(temporary.path)
            descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
            if descriptor < 0 { throw FileError.cannotWrite(url, errno: errno) }
            if let existingMode { fchmod(descriptor, existingMode) }
        }

        /// Appends `data`.
        public func append(_ data: Data) throws {
            try data.withUnsafeBytes { try append(raw: $0) }
        }

        /// Appends `bytes`.
        public func append(_ bytes: [UInt8]) throws {
            try bytes.withUnsafeBytes { try append(raw: $0) }
        }

        private func append(raw: UnsafeRawBufferPointer) throws {
            guard descriptor >= 0 else { throw FileError.cannotWrite(path: url.path, reason: "already closed") }
            var offset = 0
            while offset < raw.count {
                let written = systemWrite(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw FileError.cannotWrite(url, errno: errno)
                }
                offset += written
            }
            byteCount += raw.count
        }

        /// Overwrites bytes already appended, at `offset` (a header whose sizes are known last).
        public func overwrite(_ bytes: [UInt8], at offset: Int) throws {
            guard descriptor >= 0 else { throw FileError.cannotWrite(path: url.path, reason: "already closed") }
            let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, off_t(offset)) }
            if written != bytes.count { throw FileError.cannotWrite(url, errno: errno) }
        }

        /// Closes the temporary file and renames it to `url`.
        public func commit() throws {
            guard descriptor >= 0 else { throw FileError.cannotWrite(path: url.path, reason: "already closed") }
            let closed = close(descriptor)
            descriptor = -1
            if closed != 0 {
                let code = errno
                unlink(temporary.path)
                throw FileError.cannotWrite(url, errno: code)
            }
            if rename(temporary.path, destination.path) != 0 {
                let code = errno
                unlink(temporary.path)
                throw FileError.cannotWrite(url, errno: code)
            }
        }

        /// Closes and removes the temporary file; `url` is left as it was.
        public func discard() {
            if descriptor >= 0 { close(descriptor) }
            descriptor = -1
            unlink(temporary.path)
        }

        deinit { if descriptor >= 0 { close(descriptor) } }
    }
}

/// A file or folder that could not be written or read, with the reason in plain words.
public enum FileError: Error, Equatable, CustomStringConvertible {
    /// `path` could not be written.
    case cannotWrite(path: String, reason: String)
    /// `path` could not be read.
    case cannotRead(path: String, reason: String)

    /// One line: what, where and why.
    public var description: String {
        switch self {
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        case let .cannotRead(path, reason): return "cannot read \(path): \(reason)"
        }
    }

    /// The error for writing `url` that failed with `errno` `code`.
    static func cannotWrite(_ url: URL, errno code: Int32) -> FileError {
        .cannotWrite(path: url.path, reason: reason(code, folder: url.deletingLastPathComponent()))
    }

    /// The system's words for `code`, with the folder named when it is the folder that is missing.
    static func reason(_ code: Int32, folder: URL) -> String {
        let text = String(cString: strerror(code))
        switch code {
        case ENOENT: return "the folder \(folder.path) does not exist"
        case ENOTDIR: return "\(folder.path) is not a folder"
        case EACCES, EPERM: return "\(text) (the folder \(folder.path) is not writable)"
        default: return text
        }
    }
}

/// POSIX `write`, named apart from `AtomicFile.write`.
private func systemWrite(_ descriptor: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(descriptor, buffer, count)
}
