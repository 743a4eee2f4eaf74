// libFuzzer target: bytes as a MIDI file, then everything a MIDI file goes through (Fuzz/run.sh).
import Foundation
import MIDI
import REMI

let tokenizers = [TokenizerConfig(), .arrangement()].compactMap { try? REMITokenizer(config: $0) }

/// Reads `data` as a Standard MIDI File; a file that reads must write, read back, tokenize with
/// the piano and the arrangement tokenizers, and decode again, none of it trapping. The same bytes
/// are also offered to the token-file reader.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzMIDIFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = [UInt8](UnsafeBufferPointer(start: data, count: size))
    _ = try? TokenFile(data: Data(bytes))
    guard let file = try? MIDIFile(bytes: bytes) else { return 0 }
    if let written = try? file.encoded(), (try? MIDIFile(bytes: written)) == nil {
        fatalError("a file Cadenza wrote does not read back")
    }
    for tokenizer in tokenizers {
        guard let ids = try? tokenizer.tokenize(file) else { continue }
        _ = try? tokenizer.decode(ids: ids).encoded()
    }
    return 0
}
