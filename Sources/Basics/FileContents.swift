import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole files read from paths a user names (MIDI files, token files, model folders' files).
///
/// Only regular files are read. The file is opened without blocking, so a FIFO or a device named
/// by mistake fails at once with a reason instead of waiting for a writer that never comes (a
/// command blocked there could not even be interrupted while it waited).
public enum FileContents {
    /// The bytes of the regular file at `path`.
    /// - Parameter maximumBytes: a larger file is refused (nil: any size), before it is read.
    /// - Throws: `FileError.cannotRead` naming the path and the reason: missing, a folder, not a
    ///   regular file, larger than `maximumBytes`, or refused by the file system.
    public static func bytes(atPath path: String, maximumBytes: Int? = nil) throws -> [UInt8] {
        try withOpenFile(path, maximumBytes: maximumBytes) { descriptor, size in
            var readError: Int32 = 0
            let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                (count, readError) = readAll(descriptor, into: UnsafeMutableRawBufferPointer(buffer))
            }
            if readError != 0 { throw FileError.cannotRead(path: path, reason: String(cString: strerror(readError))) }
            return bytes
        }
    }

    /// The contents of the regular file at `url`, as `bytes(atPath:maximumBytes:)` reads them
    /// (straight into the `Data`: model and checkpoint files are megabytes).
    public static func data(at url: URL, maximumBytes: Int? = nil) throws -> Data {
        try withOpenFile(url.path, maximumBytes: maximumBytes) { descriptor, size in
            var data = Data(count: size)
            let (count, readError) = data.withUnsafeMutableBytes { readAll(descriptor, into: $0) }
            if readError != 0 {
                throw FileError.cannotRead(path: url.path, reason: String(cString: strerror(readError)))
            }
            if count < size { data.removeSubrange(count...) }  // the file shrank while being read
            return data
        }
    }

    /// Reads from `descriptor` until `buffer` is full or the file ends: the bytes read, and the
    /// `errno` of a failed read (0 when none failed).
    private static func readAll(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> (Int, Int32) {
        var count = 0
        while count < buffer.count {
            let n = read(descriptor, buffer.baseAddress! + count, buffer.count - count)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return (count, errno) }
            if n == 0 { break }  // the file shrank while being read: keep what is there
            count += n
        }
        return (count, 0)
    }

    /// Opens `path` for reading, checks that it is a regular file of at most `maximumBytes`, and
    /// gives `body` the descriptor and the size.
    private static func withOpenFile<T>(
        _ path: String, maximumBytes: Int?, _ body: (Int32, Int) throws -> T
    ) throws -> T {
        let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else {
            let code = errno
            // A folder walk hands names that are not UTF-8 over with U+FFFD in place of the
            // bytes it could not read, a name no file has.
            if code == ENOENT && path.contains("\u{FFFD}") {
                throw FileError.cannotRead(
                    path: path, reason: "its name is not valid UTF-8, which Cadenza cannot open: rename it")
            }
            throw FileError.cannotRead(path: path, reason: String(cString: strerror(code)))
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            throw FileError.cannotRead(path: path, reason: String(cString: strerror(errno)))
        }
        let type = Int(info.st_mode) & Int(S_IFMT)
        if type == Int(S_IFDIR) { throw FileError.cannotRead(path: path, reason: "it is a folder, not a file") }
        guard type == Int(S_IFREG) else {
            throw FileError.cannotRead(path: path, reason: "not a regular file (a FIFO, device or socket)")
        }
        let size = Int(info.st_size)
        if let maximumBytes, size > maximumBytes {
            let limit = maximumBytes % (1 << 20) == 0 ? "\(maximumBytes >> 20) MiB" : "\(maximumBytes) bytes"
            throw FileError.cannotRead(
                path: path, reason: "\(size) bytes is larger than such a file may be (\(limit), docs/limits.md)")
        }
        return try body(descriptor, size)
    }
}
