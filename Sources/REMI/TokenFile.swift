import Foundation

/// The binary token file `cadenza tokenize` writes, one per input MIDI file (`.remi`).
///
/// Layout, all integers little-endian:
///
/// | offset | size | content |
/// |---|---|---|
/// | 0 | 4 | magic `REMI` (ASCII) |
/// | 4 | 2 | format version, 1 |
/// | 6 | 2 | bytes per id, 2 |
/// | 8 | 4 | vocabulary size the ids belong to (check it against `vocab.json`) |
/// | 12 | 4 | number of ids, n |
/// | 16 | 2n | the ids, uint16 |
public struct TokenFile: Equatable, Sendable {
    /// Size of the vocabulary the ids index.
    public var vocabularySize: Int
    /// The token ids, in order.
    public var ids: [Int]

    /// Creates a token file's contents.
    public init(vocabularySize: Int, ids: [Int]) {
        self.vocabularySize = vocabularySize
        self.ids = ids
    }

    static let magic: [UInt8] = Array("REMI".utf8)
    static let headerSize = 16

    /// The bytes of the file; throws when the vocabulary or an id does not fit 16 bits.
    public func encoded() throws -> Data {
        guard vocabularySize <= 65_536 else { throw REMIError.vocabularyTooLargeForTokenFile(size: vocabularySize) }
        var bytes = [UInt8]()
        bytes.reserveCapacity(Self.headerSize + 2 * ids.count)
        func put(_ value: Int, _ size: Int) {
            for i in 0..<size { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * i))) }
        }
        bytes += Self.magic
        put(1, 2)
        put(2, 2)
        put(vocabularySize, 4)
        put(ids.count, 4)
        for id in ids {
            guard id >= 0 && id < vocabularySize else {
                throw REMIError.invalidTokenFile(reason: "id \(id) is outside the vocabulary of \(vocabularySize)")
            }
            put(id, 2)
        }
        return Data(bytes)
    }

    /// Reads a token file's bytes; throws `REMIError.invalidTokenFile` saying what is wrong.
    public init(data: Data) throws {
        let bytes = [UInt8](data)
        guard bytes.count >= Self.headerSize, Array(bytes[0..<4]) == Self.magic else {
            throw REMIError.invalidTokenFile(reason: "does not start with the 'REMI' magic and a 16-byte header")
        }
        func read(_ offset: Int, _ size: Int) -> Int {
            (0..<size).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
        }
        guard read(4, 2) == 1 else { throw REMIError.invalidTokenFile(reason: "format version \(read(4, 2)) (expected 1)") }
        guard read(6, 2) == 2 else { throw REMIError.invalidTokenFile(reason: "\(read(6, 2)) bytes per id (expected 2)") }
        vocabularySize = read(8, 4)
        let count = read(12, 4)
        guard bytes.count == Self.headerSize + 2 * count else {
            throw REMIError.invalidTokenFile(reason: "header says \(count) ids, the file holds \((bytes.count - Self.headerSize) / 2)")
        }
        ids = (0..<count).map { read(Self.headerSize + 2 * $0, 2) }
    }

    /// Writes the file.
    public func write(to url: URL) throws {
        try encoded().write(to: url)
    }

    /// Reads a file.
    public static func read(from url: URL) throws -> TokenFile {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw REMIError.invalidTokenFile(reason: "cannot read \(url.path) (\(error.localizedDescription))")
        }
        return try TokenFile(data: data)
    }
}
