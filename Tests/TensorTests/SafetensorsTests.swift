import Foundation
import Testing
@testable import Tensor

/// `../shared/data/reference` beside the package root, or nil when this checkout has none.
private let referenceDirectory: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let dir = root.deletingLastPathComponent().appendingPathComponent("shared/data/reference").path
    return FileManager.default.fileExists(atPath: dir) ? dir : nil
}()

private func header(_ json: String, data: [UInt8]) -> [UInt8] {
    let h = Array(json.utf8)
    var bytes: [UInt8] = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(h.count) >> (8 * UInt64($0))) }
    bytes += h
    return bytes + data
}

@Test func safetensorsRoundTripKeepsValuesShapesAndMetadata() throws {
    var generator = SeededGenerator(seed: 7)
    let a = Tensor(shape: [3, 5], values: (0..<15).map { _ in generator.nextNormal() })
    let b = Tensor(shape: [2], values: [-0.0, .infinity])
    let empty = Tensor(zeros: [0, 4])
    let file = SafetensorsFile(
        tensors: ["layers.0.w": a, "b\"quoted": b, "empty": empty],
        metadata: ["config": "{\"layers\": 2}"])
    let bytes = file.encoded()
    #expect((bytes.count - 8 - 15 * 4 - 2 * 4) % 8 == 0, "header padded to 8 bytes")
    let back = try SafetensorsFile(bytes: bytes)
    #expect(back.metadata == ["config": "{\"layers\": 2}"])
    #expect(Set(back.tensors.keys) == ["layers.0.w", "b\"quoted", "empty"])
    #expect(try back.tensor("layers.0.w", shape: [3, 5]).values == a.values)
    #expect(try back.tensor("b\"quoted").values.map(\.bitPattern) == b.values.map(\.bitPattern))
    #expect(try back.tensor("empty").shape == [0, 4])
    #expect(throws: SafetensorsError.shapeMismatch(name: "layers.0.w", expected: [5, 3], found: [3, 5])) {
        try back.tensor("layers.0.w", shape: [5, 3])
    }
    #expect(throws: SafetensorsError.missingTensor(name: "nope")) { try back.tensor("nope") }
}

@Test func safetensorsWidensHalfAndBFloat16() throws {
    // F16: 1.0 = 0x3C00, -2.5 = 0xC100, smallest subnormal 0x0001 = 2^-24, 65504 = 0x7BFF.
    // BF16: 1.0 = 0x3F80, -3.0 = 0xC040.
    let json =
        #"{"h":{"dtype":"F16","shape":[4],"data_offsets":[0,8]},"#
        + #""b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]}}"#
    let data: [UInt8] = [0x00, 0x3C, 0x00, 0xC1, 0x01, 0x00, 0xFF, 0x7B, 0x80, 0x3F, 0x40, 0xC0]
    let file = try SafetensorsFile(bytes: header(json, data: data))
    #expect(try file.tensor("h").values == [1.0, -2.5, Float(sign: .plus, exponent: -24, significand: 1), 65504])
    #expect(try file.tensor("b").values == [1.0, -3.0])
}

@Test func safetensorsRejectsCorruptFilesWithClearErrors() throws {
    #expect(throws: SafetensorsError.truncatedHeaderLength(byteCount: 3)) { try SafetensorsFile(bytes: [1, 2, 3]) }
    let good = SafetensorsFile(tensors: ["w": Tensor(shape: [2, 2], values: [1, 2, 3, 4])]).encoded()
    // Cutting off the data leaves offsets pointing past the end.
    #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: Array(good.dropLast(4))) }
    do {
        _ = try SafetensorsFile(bytes: Array(good.dropLast(4)))
    } catch let error as SafetensorsError {
        guard case .offsetsOutOfRange(name: "w", begin: 0, end: 16, dataSize: 12) = error else {
            Issue.record("unexpected error \(error)"); return
        }
        #expect(error.description.contains("truncated"))
    }
    var huge = good
    huge[7] = 0x7F
    #expect(throws: SafetensorsError.self) { try SafetensorsFile(bytes: huge) }
    #expect(throws: SafetensorsError.invalidHeader(reason: "top level is not an object")) {
        try SafetensorsFile(bytes: header("[1,2]   ", data: []))
    }
    #expect(throws: SafetensorsError.unsupportedDType(name: "x", dtype: "I64")) {
        try SafetensorsFile(
            bytes: header(
                #"{"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))
    }
    #expect(throws: SafetensorsError.sizeMismatch(name: "x", shape: [3], byteCount: 8, expected: 12)) {
        try SafetensorsFile(
            bytes: header(
                #"{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, data: Array(repeating: 0, count: 8)))
    }
    #expect(throws: SafetensorsError.invalidEntry(name: "x", field: "shape")) {
        try SafetensorsFile(bytes: header(#"{"x":{"dtype":"F32","shape":"3","data_offsets":[0,8]}}"#, data: []))
    }
    #expect(throws: SafetensorsError.self) { try SafetensorsFile(contentsOf: "/nonexistent/file.safetensors") }
}

@Test(.enabled(if: referenceDirectory != nil, "../shared/data/reference is absent"))
func safetensorsLoadsTheReferenceCheckpoints() throws {
    let dir = try #require(referenceDirectory)
    let txl = try SafetensorsFile(contentsOf: dir + "/transformer-xl-tiny/model.safetensors")
    #expect(try txl.tensor("word_emb.emb_layers.0.weight").shape == [40, 16])
    #expect(try txl.tensor("layers.1.dec_attn.qkv_net.weight").shape == [48, 16])
    #expect(try txl.tensor("r_w_bias").shape == [2, 8])
    let gpt = try SafetensorsFile(contentsOf: dir + "/gpt2-tiny/model.safetensors")
    #expect(try gpt.tensor("transformer.h.0.attn.c_attn.weight").shape == [16, 48])
    let expected = try SafetensorsFile(contentsOf: dir + "/gpt2-tiny/expected.safetensors")
    let loss = try expected.tensor("loss", shape: [1])[0]
    #expect(loss > 0 && loss < 10)
    // Writing and reading a reference file again gives the same tensors bit for bit.
    let again = try SafetensorsFile(bytes: txl.encoded())
    for (name, t) in txl.tensors { #expect(again.tensors[name]?.values == t.values, "\(name)") }
}
