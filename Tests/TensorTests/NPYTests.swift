import Foundation
import Testing

@testable import Tensor

/// `.npy` files as NumPy's format 1.0 lays them out, read back exactly.
struct NPYTests {
    @Test func arraysRoundTripWithTheDataAlignedTo64Bytes() throws {
        let small: [Int32] = [0, 1, -2, .max, .min, 409]
        let data = NPY.encode(small)
        #expect(Array(data.prefix(8)) == [0x93] + Array("NUMPY".utf8) + [1, 0])
        let headerLength = Int(data[8]) | Int(data[9]) << 8
        #expect((10 + headerLength) % 64 == 0)
        let header = String(decoding: data[10..<(10 + headerLength)], as: UTF8.self)
        #expect(header.hasPrefix("{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }"))
        #expect(header.hasSuffix("\n"))
        #expect(data.count == 10 + headerLength + 6 * 4)
        // Little-endian: -2 is FE FF FF FF.
        #expect(Array(data[(10 + headerLength + 8)..<(10 + headerLength + 12)]) == [0xFE, 0xFF, 0xFF, 0xFF])
        #expect(try NPY.decode(data, as: Int32.self) == small)
        let offsets: [Int64] = [0, 5, 1 << 40]
        #expect(try NPY.decode(NPY.encode(offsets), as: Int64.self) == offsets)
        #expect(try NPY.decode(NPY.encode([Int32]()), as: Int32.self) == [])
    }

    /// A version 1.0 file of `<i4` whose header gives the shape `(count,)` and which holds `data`
    /// bytes after it.
    func withShape(_ count: String, data: Int) -> Data {
        let header = "{'descr': '<i4', 'fortran_order': False, 'shape': (\(count),), }\n"
        let length = header.utf8.count
        return Data(NPY.magic + [UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8))
            + Data(repeating: 0, count: data)
    }

    @Test func otherFilesAreRefusedWithAReason() {
        let good = NPY.encode([Int32(1), 2, 3])
        let cases: [(Data, String)] = [
            (Data("not numpy at all".utf8), "magic"),
            (good.prefix(good.count - 1), "bytes of data"),
            (good.prefix(20), "cut short"),
            (NPY.encode([Int64(1)]), "<i4"),
            // Shapes whose byte counts overflow or are negative (a fuzzer's find: the product
            // trapped before the check).
            (withShape("4611686018427387904", data: 4), "bytes of data"),
            (withShape("-1", data: 0), "bytes of data"),
        ]
        for (data, reason) in cases {
            #expect {
                _ = try NPY.decode(data, as: Int32.self)
            } throws: { error in
                "\(error)".contains(reason)
            }
        }
    }
}
