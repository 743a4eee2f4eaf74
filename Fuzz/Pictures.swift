// libFuzzer target: bytes as a MIDI file drawn and played (Fuzz/run.sh).
import Foundation
import Generation
import MIDI
import Plot

let roll = PianoRoll(width: 320, title: "fuzz")
/// A low sample rate: the target checks that any file can be played, not how it sounds.
let synthesizer = PianoSynthesizer(sampleRate: 2_000)

/// Reads `data` as a Standard MIDI File; a file that reads must draw as a piano roll (and encode
/// as PNG) and, when its sound is short enough to make quickly, play through the synthesiser, as
/// `cadenza plot` and `cadenza render` do, none of it trapping.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPictures(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let file = try? MIDIFile(bytes: [UInt8](UnsafeBufferPointer(start: data, count: size))) else { return 0 }
    _ = PNG.encode(roll.render(file))
    let seconds = synthesizer.duration(of: file)
    guard seconds.isFinite, seconds < 120 else { return 0 }
    _ = synthesizer.render(file)
    return 0
}
