// libFuzzer target: bytes as the settings a user hands Cadenza (Fuzz/run.sh).
import Corpus
import Foundation
import Generation
import MIDI
import Models
import REMI

/// A short piece with what a tokenizer's settings act on: two metres, a tempo change, a sustain
/// pedal, a melody, chords and a drum track.
let piece: MIDIFile = {
    let beat = 480
    let melody = (0..<48).map { i in
        Note(
            start: i * beat / 2, end: i * beat / 2 + beat / 2 + (i % 3) * 60, pitch: 60 + (i * 7) % 24, velocity: 40 + i
        )
    }
    let chords = (0..<12).flatMap { bar in
        [48, 52, 55].map { Note(start: bar * 4 * beat, end: (bar * 4 + 3) * beat, pitch: $0 + bar % 5, velocity: 70) }
    }
    let drums = (0..<64).map {
        Note(start: $0 * beat / 2, end: $0 * beat / 2 + 60, pitch: $0 % 2 == 0 ? 36 : 42, velocity: 90, channel: 9)
    }
    return MIDIFile(
        tracks: [
            Track(name: "MELODY", notes: melody),
            Track(
                name: "PIANO", notes: chords,
                controlChanges: [
                    ControlChange(tick: 0, controller: 64, value: 127),
                    ControlChange(tick: 4 * beat, controller: 64, value: 0),
                ]),
            Track(name: "DRUMS", notes: drums, isDrum: true),
        ],
        tempoChanges: [TempoChange(tick: 0, bpm: 96), TempoChange(tick: 16 * beat, bpm: 140)],
        timeSignatures: [
            TimeSignature(tick: 0, numerator: 3, denominator: 4),
            TimeSignature(tick: 12 * beat, numerator: 4, denominator: 4),
        ])
}()

/// A folder of this process's own for the corpus lists, which are read from files.
let folder: URL = {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("cadenza-fuzz-\(getpid())")
    try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}()

/// The first byte picks what the rest is: a vocabulary (`vocab.json`), a tokenizer config
/// (then `piece` tokenized with it and decoded), a model config (`model.json`), a decoding
/// choice (`decoding.json`), the text of `--key` and `--chords`, or a corpus given as a
/// MAESTRO-style CSV and as a list of paths (`--data`). None of it may trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSettings(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let body = Data(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch data[0] % 6 {
    case 0:
        guard let vocabulary = try? Vocabulary.load(jsonData: body) else { return 0 }
        let tokenizer = REMITokenizer(vocabulary: vocabulary)
        if let ids = try? tokenizer.tokenize(piece) { _ = try? tokenizer.decode(ids: ids).encoded() }
    case 1:
        guard let config = try? JSONDecoder().decode(TokenizerConfig.self, from: body), (try? config.validate()) != nil,
            let tokenizer = try? REMITokenizer(config: config)
        else { return 0 }
        if let ids = try? tokenizer.tokenize(piece) { _ = try? tokenizer.decode(ids: ids).encoded() }
        _ = try? Steering.chords(parsing: "C:maj G:maj A:min,F:maj", config: config)
    case 2:
        if let config = try? ModelConfig.decode(json: body) { _ = try? config.validate() }
    case 3:
        _ = try? DecoderChoice.decode(body)
    case 5:
        for name in ["corpus.csv", "corpus.txt"] {
            let url = folder.appendingPathComponent(name)
            guard (try? body.write(to: url)) != nil else { continue }
            _ = try? CorpusSource.files(at: url.path, ratios: SplitRatios(validation: 0.1, test: 0.1))
        }
    default:
        let text = String(decoding: body, as: UTF8.self)
        _ = MusicalKey(parsing: text)
        for config in [TokenizerConfig(), .arrangement()] { _ = try? Steering.chords(parsing: text, config: config) }
    }
    return 0
}
