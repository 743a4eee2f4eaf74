import Basics
import Foundation

#if _endian(big)
    #error("safetensors data is little-endian; decoding copies float32 data as it is")
#endif

/// Why a safetensors file could not be read or written.
public enum SafetensorsError: Error, CustomStringConvertible, Equatable {
    /// The file could not be opened or read (`path`, the system's reason).
    case unreadable(path: String, reason: String)
    /// Fewer than the 8 bytes that hold the header length (`byteCount` bytes present).
    case truncatedHeaderLength(byteCount: Int)
    /// The header length says `headerLength` bytes but only `available` follow it.
    case headerLengthOutOfRange(headerLength: UInt64, available: Int)
    /// The header is not a JSON object (`reason` says what the parser saw).
    case invalidHeader(reason: String)
    /// Tensor `name`'s entry lacks or mistypes `field` (`dtype`, `shape` or `data_offsets`).
    case invalidEntry(name: String, field: String)
    /// Tensor `name` has a dtype this reader does not convert (only F32, F16, BF16 are read).
    case unsupportedDType(name: String, dtype: String)
    /// Tensor `name`'s byte range [begin, end) lies outside the data section of `dataSize` bytes.
    case offsetsOutOfRange(name: String, begin: Int, end: Int, dataSize: Int)
    /// Tensor `name`'s byte range holds `byteCount` bytes, not what `shape` and its dtype need.
    case sizeMismatch(name: String, shape: [Int], byteCount: Int, expected: Int)
    /// The file has no tensor named `name` (asked for by a loader).
    case missingTensor(name: String)
    /// Tensor `name` has shape `found` where the loader needs `expected`.
    case shapeMismatch(name: String, expected: [Int], found: [Int])
    /// The file holds tensors the loader has no place for (`names`, sorted).
    case unexpectedTensors(names: [String])

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read safetensors file \(path): \(reason)"
        case let .truncatedHeaderLength(n):
            return "safetensors file is truncated: \(n) bytes, fewer than the 8-byte header length"
        case let .headerLengthOutOfRange(len, available):
            return
                "safetensors header claims \(len) bytes but only \(available) follow: file truncated or not safetensors"
        case let .invalidHeader(reason): return "safetensors header is not a valid JSON object: \(reason)"
        case let .invalidEntry(name, field):
            return "safetensors entry '\(name)' has a missing or malformed '\(field)'"
        case let .unsupportedDType(name, dtype):
            return "safetensors tensor '\(name)' has dtype \(dtype); only F32, F16 and BF16 are supported"
        case let .offsetsOutOfRange(name, begin, end, size):
            return
                "safetensors tensor '\(name)' spans bytes [\(begin), \(end)) outside the \(size)-byte data section: "
                + "file truncated?"
        case let .sizeMismatch(name, shape, count, expected):
            return "safetensors tensor '\(name)' of shape \(shape) holds \(count) bytes, expected \(expected)"
        case let .missingTensor(name): return "safetensors file has no tensor named '\(name)'"
        case let .shapeMismatch(name, expected, found):
            return "safetensors tensor '\(name)' has shape \(found), expected \(expected)"
        case let .unexpectedTensors(names):
            let shown = names.prefix(3).map { "'\($0)'" }.joined(separator: ", ")
            return
                "safetensors file holds \(names.count) tensor\(names.count == 1 ? "" : "s") the model has no place "
                + "for (\(shown)\(names.count > 3 ? ", ..." : "")): the weights belong to a larger or another model"
        }
    }
}

/// The contents of a safetensors file (the format of Hugging Face's `safetensors`): named
/// float32 tensors and a free-form string metadata dictionary (`__metadata__`).
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON mapping each name to
/// `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets in bytes, relative to the end of
/// the header), then the raw little-endian data. F16 and BF16 tensors are widened to float32 on
/// load; writing stores F32, or F16 when asked (`StoredType.f16`, half the size, for shipping).
public struct SafetensorsFile {
    /// The tensors by name.
    public var tensors: [String: Tensor]
    /// The `__metadata__` entries (for Cadenza: the model config as JSON, and similar).
    public var metadata: [String: String]

    /// A file holding `tensors` and `metadata`.
    public init(tensors: [String: Tensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads the file at `path`.
    public init(contentsOf path: String) throws {
        let bytes: [UInt8]
        do { bytes = try FileContents.bytes(atPath: path) } catch FileError.cannotRead(_, let reason) {
            throw SafetensorsError.unreadable(path: path, reason: reason)
        }
        try self = bytes.withUnsafeBytes { try SafetensorsFile(decoding: $0) }
    }

    /// Decodes a whole file already in memory.
    public init(bytes: [UInt8]) throws {
        try self = bytes.withUnsafeBytes { try SafetensorsFile(decoding: $0) }
    }

    /// Decodes a whole file whose bytes are `bytes` (read in place, not copied first).
    private init(decoding bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count >= 8 else { throw SafetensorsError.truncatedHeaderLength(byteCount: bytes.count) }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw SafetensorsError.headerLengthOutOfRange(headerLength: headerLength, available: bytes.count - 8)
        }
        let dataStart = 8 + Int(headerLength)
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(UnsafeRawBufferPointer(rebasing: bytes[8..<dataStart])))
        } catch {
            throw SafetensorsError.invalidHeader(reason: error.localizedDescription)
        }
        guard let header = json as? [String: Any] else {
            throw SafetensorsError.invalidHeader(reason: "top level is not an object")
        }
        let dataSize = bytes.count - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else {
                    throw SafetensorsError.invalidEntry(name: name, field: "__metadata__")
                }
                for (key, item) in entries { metadata[key] = item as? String ?? "\(item)" }
                continue
            }
            guard let entry = value as? [String: Any] else {
                throw SafetensorsError.invalidEntry(name: name, field: "entry")
            }
            guard let dtype = entry["dtype"] as? String else {
                throw SafetensorsError.invalidEntry(name: name, field: "dtype")
            }
            guard let shape = Self.integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw SafetensorsError.invalidEntry(name: name, field: "shape")
            }
            guard let offsets = Self.integers(entry["data_offsets"]), offsets.count == 2 else {
                throw SafetensorsError.invalidEntry(name: name, field: "data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= dataSize else {
                throw SafetensorsError.offsetsOutOfRange(name: name, begin: begin, end: end, dataSize: dataSize)
            }
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "F16", "BF16": width = 2
            default: throw SafetensorsError.unsupportedDType(name: name, dtype: dtype)
            }
            let count = shape.reduce(1, *)
            guard end - begin == count * width else {
                throw SafetensorsError.sizeMismatch(
                    name: name, shape: shape, byteCount: end - begin, expected: count * width)
            }
            let tensor = Tensor(uninitialized: shape)
            let base = dataStart + begin
            // The file is little-endian, as is every CPU Cadenza builds for (checked at compile
            // time above), so float32 data is copied as it is.
            if let start = bytes.baseAddress {
                let source = start + base
                switch dtype {
                case "F32":
                    UnsafeMutableRawPointer(tensor.pointer).copyMemory(from: source, byteCount: count * 4)
                case "F16":
                    for i in 0..<count {
                        tensor.pointer[i] = Self.widenHalf(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    }
                default:  // BF16: the top half of a float32
                    for i in 0..<count {
                        let half = source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                        tensor.pointer[i] = Float(bitPattern: UInt32(half) << 16)
                    }
                }
            }
            tensors[name] = tensor
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The tensor called `name`, checked to have `shape` when one is given.
    public func tensor(_ name: String, shape: [Int]? = nil) throws -> Tensor {
        guard let t = tensors[name] else { throw SafetensorsError.missingTensor(name: name) }
        if let shape, t.shape != shape {
            throw SafetensorsError.shapeMismatch(name: name, expected: shape, found: t.shape)
        }
        return t
    }

    /// How `encoded(as:)` stores each value.
    public enum StoredType: String, Sendable {
        /// IEEE 754 binary32, exact.
        case f32 = "F32"
        /// IEEE 754 binary16, rounded to nearest even (about 3 significant digits, range +-65504).
        case f16 = "F16"

        var width: Int { self == .f32 ? 4 : 2 }
    }

    /// The file's bytes: names sorted, every tensor stored as little-endian `type` (F32 by
    /// default), the header padded with spaces to a multiple of 8 bytes (as the reference
    /// writer does).
    public func encoded(as type: StoredType = .f32) -> [UInt8] {
        let names = tensors.keys.sorted()
        var entries: [String] = []
        var offset = 0
        for name in names {
            let t = tensors[name]!
            let shape = t.shape.map(String.init).joined(separator: ",")
            let end = offset + type.width * t.count
            entries.append(
                JSONKeys.quoted(name)
                    + #":{"dtype":"\#(type.rawValue)","shape":[\#(shape)],"data_offsets":[\#(offset),\#(end)]}"#
            )
            offset += type.width * t.count
        }
        if !metadata.isEmpty {
            let items = metadata.keys.sorted().map { "\(JSONKeys.quoted($0)):\(JSONKeys.quoted(metadata[$0]!))" }
            entries.insert("\"__metadata__\":{\(items.joined(separator: ","))}", at: 0)
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(8 + header.count + offset)
        let n = UInt64(header.count)
        for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
        bytes.append(contentsOf: header)
        for name in names {
            for v in tensors[name]!.buffer {
                switch type {
                case .f32:
                    let bits = v.bitPattern
                    for i in 0..<4 { bytes.append(UInt8(truncatingIfNeeded: bits >> (8 * UInt32(i)))) }
                case .f16:
                    let half = Self.narrowHalf(v)
                    bytes.append(UInt8(truncatingIfNeeded: half))
                    bytes.append(UInt8(truncatingIfNeeded: half >> 8))
                }
            }
        }
        return bytes
    }

    /// Writes the file to `path` (values stored as `type`), replacing any file there.
    public func write(to path: String, as type: StoredType = .f32) throws {
        try AtomicFile.write(encoded(as: type), to: URL(fileURLWithPath: path))
    }

    private static func integers(_ value: Any?) -> [Int]? {
        guard let array = value as? [Any] else { return nil }
        var result: [Int] = []
        for item in array {
            guard let number = item as? NSNumber else { return nil }
            let d = number.doubleValue
            guard d >= 0, d == d.rounded(), d < 1e15 else { return nil }
            result.append(number.intValue)
        }
        return result
    }

    /// float32 to IEEE 754 binary16, rounding to nearest even; beyond +-65504 gives infinity,
    /// tiny values become subnormal or zero. Written out for the same reason as `widenHalf`.
    static func narrowHalf(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF { return sign | 0x7C00 | (mantissa != 0 ? 0x200 : 0) }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F { return sign | 0x7C00 }
        if halfExponent <= 0 {
            // Subnormal half (or zero): the 24-bit significand shifted into 10 bits.
            guard halfExponent >= -10 else { return sign }
            let significand = mantissa | 0x80_0000
            let shift = UInt32(14 - halfExponent)
            var half = significand >> shift
            let remainder = significand & ((1 << shift) - 1), halfway = UInt32(1) << (shift - 1)
            if remainder > halfway || (remainder == halfway && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = UInt32(halfExponent) << 10 | (mantissa >> 13)
        let remainder = mantissa & 0x1FFF
        // A carry out of the mantissa correctly bumps the exponent (up to infinity).
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
    }

    /// IEEE 754 binary16 to float32, written out so it works where `Float16` is unavailable.
    static func widenHalf(_ h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31
        let exponent = Int((h >> 10) & 0x1F)
        let mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            // Zero or subnormal: mantissa * 2^-24.
            let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
            return sign == 0 ? magnitude : -magnitude
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}
