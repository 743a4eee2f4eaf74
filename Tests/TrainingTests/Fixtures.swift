import Foundation
import MIDI
import Models
import REMI
import Tensor
@testable import Training

/// Shared helpers: temporary folders, generated MIDI and token corpora, small options.
enum Fixtures {
    static let tokenizer = try! REMITokenizer()

    /// A fresh empty folder under this test process's scratch root, which is removed when the
    /// process exits (the runs' checkpoints would otherwise pile up in the temporary folder).
    static func temporaryFolder(_ name: String = #function) -> URL {
        _ = removeScratchRootAtExit
        let clean = name.filter { $0.isLetter || $0.isNumber }
        let url = trainingScratchRoot.appendingPathComponent("\(clean)-\(UUID().uuidString.prefix(8))")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A short piano piece: `bars` bars of quarter notes walking up from `root`.
    static func midi(root: Int, bars: Int = 2, velocity: Int = 80) -> MIDIFile {
        var notes: [Note] = []
        for beat in 0..<(bars * 4) {
            let pitch = root + [0, 4, 7, 12][beat % 4]
            notes.append(Note(start: beat * 480, end: beat * 480 + 400, pitch: pitch, velocity: velocity))
        }
        return MIDIFile(tracks: [Track(notes: notes)], tempoChanges: [TempoChange(tick: 0, bpm: 120)])
    }

    /// A token corpus with learnable structure: REMI-like bars in which positions cycle and
    /// each note's velocity and duration follow from its pitch, pitches walking a scale.
    static func patternPieces(count: Int, length: Int, seed: UInt64) -> [[Int32]] {
        let v = tokenizer.vocabulary
        var g = SeededGenerator(seed: seed)
        func id(_ e: REMIEvent) -> Int32 { Int32(v.id(for: e)!) }
        return (0..<count).map { _ in
            var ids: [Int32] = []
            var pitch = 48 + Int(g.next() % 12)
            while ids.count < length - 1 {
                ids.append(id(.bar))
                for position in stride(from: 0, to: 16, by: 4) {
                    ids.append(id(.position(position)))
                    ids.append(id(.velocity(16 + pitch % 8)))
                    ids.append(id(.noteOn(pitch)))
                    ids.append(id(.duration(3 + pitch % 4)))
                    pitch = 48 + (pitch - 48 + [2, 2, 1, 2, 2, 2, 1][pitch % 7]) % 24
                }
            }
            ids = Array(ids.prefix(length - 1))
            ids.append(Int32(v.endOfPieceID))
            return ids
        }
    }

    /// Options for tests: no cache, the given data path (unused when data is passed directly).
    static func options(
        kind: ModelKind, steps: Int, batch: Int = 2, augmentation: Augmentation = .standard,
        learningRate: Float = 1e-3
    ) -> TrainingOptions {
        var o = TrainingOptions.defaults(
            for: kind,
            data: DataOptions(
                path: "/nonexistent", cacheFolder: nil,
                augmentation: augmentation), steps: steps)
        o.batch = batch
        o.learningRate = learningRate
        o.warmupSteps = 2
        o.evalEvery = 0
        o.saveEvery = 1000
        return o
    }

    /// The tiny preset for the tokenizer's vocabulary, with dropout on so that resuming must
    /// restore the dropout generator too.
    static func tinyConfig(_ kind: ModelKind, segment: Int = 16) -> ModelConfig {
        var c = ModelConfig.tiny(kind, vocabularySize: tokenizer.vocabulary.count)
        c.segmentLength = segment
        if kind == .transformerXL { c.memoryLength = 24 } else { c.positions = max(c.positions, segment) }
        c.dropout = 0.1
        c.attentionDropout = 0.05
        return c
    }

    static func data(pieces: Int = 3, length: Int = 40, seed: UInt64 = 7) -> TrainingData {
        TrainingData(
            train: patternPieces(count: pieces, length: length, seed: seed),
            validation: patternPieces(count: 2, length: 80, seed: seed + 1).flatMap { $0 }, fingerprint: "test")
    }

    static func weights(_ model: LanguageModel) -> [String: [UInt32]] {
        Dictionary(uniqueKeysWithValues: model.parameters.map { ($0.name, $0.tensor.values.map(\.bitPattern)) })
    }
}

/// Where this test process's training folders live (`Fixtures.temporaryFolder`).
private let trainingScratchRoot = FileManager.default.temporaryDirectory.appendingPathComponent(
    "cadenza-training-tests-\(ProcessInfo.processInfo.processIdentifier)")

/// Registers, once, the removal of `trainingScratchRoot` when the process exits.
private let removeScratchRootAtExit: Void = {
    atexit { try? FileManager.default.removeItem(at: trainingScratchRoot) }
}()
