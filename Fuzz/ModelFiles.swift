// libFuzzer target: bytes as model weights and token arrays (Fuzz/run.sh).
import Foundation
import Tensor

/// Reads `data` as a safetensors file (every tensor fetched, the file written again in float16
/// and read back) and as `.npy` arrays of both integer widths, none of it trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModelFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    if let file = try? SafetensorsFile(bytes: bytes) {
        for (name, tensor) in file.tensors { _ = try? file.tensor(name, shape: tensor.shape) }
        if (try? SafetensorsFile(bytes: file.encoded(as: .f16))) == nil {
            fatalError("a file Cadenza wrote does not read back")
        }
    }
    _ = try? NPY.decode(Data(bytes), as: Int32.self)
    _ = try? NPY.decode(Data(bytes), as: Int64.self)
    return 0
}
