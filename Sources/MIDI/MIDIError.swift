/// Why a Standard MIDI File could not be read or written.
///
/// Every case that comes from the bytes carries `offset`, the byte position (from the start of
/// the file, 0-based) where the problem was found, so that a person can look at it in a hex dump.
public enum MIDIError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file does not start with an `MThd` chunk.
    case notMIDI(offset: Int)
    /// The file ends inside something that needs more bytes (`what` names it).
    case truncated(offset: Int, what: String)
    /// A chunk's length field points past the end of the file.
    case chunkPastEnd(offset: Int, chunk: String, length: Int, available: Int)
    /// The `MThd` header holds an impossible value.
    case badHeader(offset: Int, reason: String)
    /// A variable-length quantity runs on for more than 4 bytes (the SMF limit).
    case variableLengthTooLong(offset: Int)
    /// A data byte (below 0x80) appears where a status byte is needed and no running status
    /// is in effect.
    case missingStatus(offset: Int, byte: UInt8)
    /// A byte that is not allowed here: a status byte inside a message's data, or a system
    /// status (F1...FE other than FF) that a file cannot contain.
    case unexpectedByte(offset: Int, byte: UInt8, reason: String)
    /// A meta event whose contents do not fit its type (a tempo of 2 bytes, a zero tempo, ...).
    case badMetaEvent(offset: Int, type: UInt8, reason: String)
    /// The header promises more track chunks than the file holds.
    case missingTracks(offset: Int, expected: Int, found: Int)
    /// A value in a `MIDIFile` cannot be written as a Standard MIDI File.
    case unwritable(reason: String)
    /// The file system refused (missing file, permission, ...).
    case unreadable(path: String, reason: String)

    /// The byte offset of the problem, where there is one.
    public var offset: Int? {
        switch self {
        case .notMIDI(let o), .truncated(let o, _), .chunkPastEnd(let o, _, _, _),
            .badHeader(let o, _), .variableLengthTooLong(let o), .missingStatus(let o, _),
            .unexpectedByte(let o, _, _), .badMetaEvent(let o, _, _), .missingTracks(let o, _, _):
            return o
        case .unwritable, .unreadable:
            return nil
        }
    }

    /// A sentence a person can act on, naming the byte offset.
    public var description: String {
        func hex(_ b: UInt8) -> String {
            let digits = String(b, radix: 16, uppercase: true)
            return "0x" + (digits.count < 2 ? "0" + digits : digits)
        }
        switch self {
        case .notMIDI(let o):
            return "not a MIDI file: no 'MThd' header at byte \(o)"
        case .truncated(let o, let what):
            return "file is truncated: it ends inside \(what) at byte \(o)"
        case .chunkPastEnd(let o, let chunk, let length, let available):
            return "chunk '\(chunk)' at byte \(o) says it holds \(length) bytes but only "
                + "\(available) remain in the file"
        case .badHeader(let o, let reason):
            return "bad MThd header at byte \(o): \(reason)"
        case .variableLengthTooLong(let o):
            return "variable-length number at byte \(o) is longer than 4 bytes"
        case .missingStatus(let o, let b):
            return "data byte \(hex(b)) at byte \(o) where a status byte is needed "
                + "(no running status in effect)"
        case .unexpectedByte(let o, let b, let reason):
            return "unexpected byte \(hex(b)) at byte \(o): \(reason)"
        case .badMetaEvent(let o, let type, let reason):
            return "bad meta event FF \(hex(type)) at byte \(o): \(reason)"
        case .missingTracks(let o, let expected, let found):
            return "header promises \(expected) track chunks but the file ends at byte \(o) "
                + "after \(found)"
        case .unwritable(let reason):
            return "cannot write MIDI: \(reason)"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        }
    }
}
