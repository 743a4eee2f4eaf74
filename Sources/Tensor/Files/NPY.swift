import Foundation

/// An integer type a `.npy` file can hold, with NumPy's name for it.
public protocol NPYInteger: FixedWidthInteger, SignedInteger {
    /// NumPy's dtype string (little-endian), such as `<i4`.
    static var npyDescription: String { get }
}

extension Int32: NPYInteger {
    /// NumPy's `int32`, little-endian.
    public static var npyDescription: String { "<i4" }
}

extension Int64: NPYInteger {
    /// NumPy's `int64`, little-endian.
    public static var npyDescription: String { "<i8" }
}

/// A `.npy` file that `NPY.decode` cannot read as asked.
public struct NPYError: Error, Equatable, CustomStringConvertible {
    /// What is wrong.
    public var reason: String
    /// A readable description.
    public var description: String { "not a readable .npy array: \(reason)" }
}

/// NumPy's `.npy` format, version 1.0, for one-dimensional integer arrays: what `numpy.load`
/// (and so PyTorch training code) reads. The header is a Python dict literal padded with
/// spaces so that the data starts at a multiple of 64 bytes, as the format's specification
/// asks.
public enum NPY {
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]

    /// The bytes of a `.npy` file holding `values` as a one-dimensional array.
    public static func encode<T: NPYInteger>(_ values: [T]) -> Data {
        var header = "{'descr': '\(T.npyDescription)', 'fortran_order': False, 'shape': (\(values.count),), }"
        // magic (8) + header length (2) + header + newline, padded to a multiple of 64.
        let unpadded = magic.count + 2 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var data = Data(magic)
        let length = UInt16(header.utf8.count)
        data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
        data.append(contentsOf: Array(header.utf8))
        data.reserveCapacity(data.count + values.count * MemoryLayout<T>.size)
        for value in values { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        return data
    }

    /// The one-dimensional array of `T` in `data`, a version 1.0 `.npy` file as `encode`
    /// writes it. Throws when the file is of another kind, shape or element type, or short.
    public static func decode<T: NPYInteger>(_ data: Data, as type: T.Type = T.self) throws -> [T] {
        let bytes = [UInt8](data)
        guard bytes.count >= 10, Array(bytes[0..<6]) == Array(magic[0..<6]) else {
            throw NPYError(reason: "no NUMPY magic")
        }
        guard bytes[6] == 1 else { throw NPYError(reason: "version \(bytes[6]).\(bytes[7]), not 1.0") }
        let length = Int(bytes[8]) | Int(bytes[9]) << 8
        guard bytes.count >= 10 + length else { throw NPYError(reason: "the header is cut short") }
        let header = String(decoding: bytes[10..<(10 + length)], as: UTF8.self)
        guard header.contains("'descr': '\(T.npyDescription)'") else {
            throw NPYError(reason: "its elements are not \(T.npyDescription): \(header)")
        }
        guard header.contains("'fortran_order': False"),
            let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")")
        else { throw NPYError(reason: "no shape in \(header)") }
        let dimensions = header[open.upperBound..<close].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard dimensions.count == 1, let count = Int(dimensions[0]) else {
            throw NPYError(reason: "not one-dimensional: \(header)")
        }
        let start = 10 + length, size = MemoryLayout<T>.size
        // The shape is the file's word: a count whose bytes overflow cannot match the data.
        let (dataBytes, overflow) = count.multipliedReportingOverflow(by: size)
        guard count >= 0, !overflow, bytes.count - start == dataBytes else {
            throw NPYError(reason: "\(bytes.count - start) bytes of data for \(count) elements of \(size) bytes")
        }
        return (0..<count).map { i in
            var value = T.zero
            withUnsafeMutableBytes(of: &value) {
                $0.copyBytes(from: bytes[(start + i * size)..<(start + (i + 1) * size)])
            }
            return T(littleEndian: value)
        }
    }
}
