import Basics
import Foundation

/// The binary token file `cadenza tokenize` writes, one per input MIDI file (`.remi`).
///
/// Layout, all integers little-endian (format version 2):
///
/// | offset | size | content |
/// |---|---|---|
/// | 0 | 4 | magic `REMI` (ASCII) |
/// | 4 | 2 | format version, 2 |
/// | 6 | 2 | bytes per id, 2 |
/// | 8 | 4 | vocabulary size the ids belong to |
/// | 12 | 4 | number of ids, n |
/// | 16 | 8 | the vocabulary's fingerprint (`Vocabulary.fingerprint`, which covers its config) |
/// | 24 | 2n | the ids, uint16 |
///
/// Version 1 files (16-byte header, no fingerprint) are still read; they can only be checked
/// against a vocabulary's size.
public struct TokenFile: Equatable, Sendable {
    /// Size of the vocabulary the ids index.
    public var vocabularySize: Int
    /// The fingerprint of the vocabulary the ids were written with; nil in a version 1 file.
    public var vocabularyFingerprint: UInt64?
    /// The token ids, in order.
    public var ids: [Int]

    /// A token file of `ids` in `vocabulary`.
    public init(vocabulary: Vocabulary, ids: [Int]) {
        self.init(vocabularySize: vocabulary.count, fingerprint: vocabulary.fingerprint, ids: ids)
    }

    /// Creates a token file's contents from its parts.
    public init(vocabularySize: Int, fingerprint: UInt64?, ids: [Int]) {
        self.vocabularySize = vocabularySize
        self.vocabularyFingerprint = fingerprint
        self.ids = ids
    }

    static let magic: [UInt8] = Array("REMI".utf8)
    static let version1HeaderSize = 16, headerSize = 24

    /// The bytes of the file (version 2, or version 1 when there is no fingerprint); throws
    /// when the vocabulary or an id does not fit 16 bits.
    public func encoded() throws -> Data {
        guard vocabularySize <= 65_536 else { throw REMIError.vocabularyTooLargeForTokenFile(size: vocabularySize) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.headerSize + 2 * ids.count)
        func put(_ value: UInt64, _ size: Int) {
            for i in 0..<size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(i)))) }
        }
        bytes += Self.magic
        put(vocabularyFingerprint == nil ? 1 : 2, 2)
        put(2, 2)
        put(UInt64(vocabularySize), 4)
        put(UInt64(ids.count), 4)
        if let vocabularyFingerprint { put(vocabularyFingerprint, 8) }
        for id in ids {
            guard id >= 0 && id < vocabularySize else {
                throw REMIError.invalidTokenFile(reason: "id \(id) is outside the vocabulary of \(vocabularySize)")
            }
            put(UInt64(id), 2)
        }
        return Data(bytes)
    }

    /// Reads a token file's bytes; throws `REMIError.invalidTokenFile` saying what is wrong.
    public init(data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= Self.version1HeaderSize, Array(bytes[0..<4]) == Self.magic else {
            throw REMIError.invalidTokenFile(reason: "does not start with the 'REMI' magic and a 16-byte header")
        }
        func read(_ offset: Int, _ size: Int) -> UInt64 {
            (0..<size).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        }
        let version = read(4, 2)
        guard version == 1 || version == 2 else {
            throw REMIError.invalidTokenFile(reason: "format version \(version) (expected 1 or 2)")
        }
        guard read(6, 2) == 2 else {
            throw REMIError.invalidTokenFile(reason: "\(read(6, 2)) bytes per id (expected 2)")
        }
        let header = version == 1 ? Self.version1HeaderSize : Self.headerSize
        guard bytes.count >= header else { throw REMIError.invalidTokenFile(reason: "the header is cut short") }
        vocabularySize = Int(read(8, 4))
        vocabularyFingerprint = version == 2 ? read(16, 8) : nil
        let count = Int(read(12, 4))
        guard bytes.count == header + 2 * count else {
            throw REMIError.invalidTokenFile(
                reason: "the header says \(count) ids (\(header + 2 * count) bytes in all), the file holds "
                    + "\(bytes.count) bytes")
        }
        ids = (0..<count).map { Int(read(header + 2 * $0, 2)) }
    }

    /// Throws unless the ids were written with `vocabulary` (read from `vocabularyPath`): the
    /// fingerprints must agree, or for a version 1 file the sizes.
    public func check(against vocabulary: Vocabulary, tokenPath: String, vocabularyPath: String) throws {
        if let vocabularyFingerprint {
            guard vocabularyFingerprint == vocabulary.fingerprint else {
                throw REMIError.vocabularyMismatch(
                    tokenFile: tokenPath, tokenFingerprint: FNV1a.hex(vocabularyFingerprint),
                    vocabulary: vocabularyPath, vocabularyFingerprint: FNV1a.hex(vocabulary.fingerprint))
            }
        } else if vocabularySize != vocabulary.count {
            throw REMIError.invalidTokenFile(
                reason:
                    "\(tokenPath) was written for a vocabulary of \(vocabularySize) tokens, \(vocabularyPath) has "
                    + "\(vocabulary.count)"
            )
        }
    }

    /// Writes the file, whole or not at all (`AtomicFile`).
    public func write(to url: URL) throws {
        try AtomicFile.write(encoded(), to: url)
    }

    /// Reads a file.
    public static func read(from url: URL) throws -> TokenFile {
        let data: Data
        do { data = try FileContents.data(at: url) } catch {
            throw REMIError.invalidTokenFile(reason: "\(error)")
        }
        do {
            return try TokenFile(data: data)
        } catch REMIError.invalidTokenFile(let reason) {
            throw REMIError.invalidTokenFile(reason: "\(url.path): \(reason)")
        }
    }
}
