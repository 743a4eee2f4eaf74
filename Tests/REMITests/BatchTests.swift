import Foundation
import MIDI
import Testing
@testable import REMI

/// Many files at once (what `cadenza tokenize` runs): a bad file is reported, the others go on.
@Suite struct BatchTests {
    @Test func badFilesAreReportedAndTheOthersWritten() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("remi-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let song = MIDIFile(
            tracks: [
                Track(notes: [
                    Note(start: 0, end: 480, pitch: 60, velocity: 80),
                    Note(start: 1920, end: 2400, pitch: 64, velocity: 80),
                ])
            ],
            tempoChanges: [TempoChange(tick: 0, bpm: 120)])
        try song.write(to: folder.appendingPathComponent("sub/good.mid"))
        try Data("not midi".utf8).write(to: folder.appendingPathComponent("bad.mid"))

        let list = MIDIFileList(paths: [folder.path, folder.appendingPathComponent("absent.mid").path])
        #expect(list.files.map(\.relativePath) == ["bad.mid", "sub/good.mid"])
        #expect(list.missing == [folder.appendingPathComponent("absent.mid").path])

        let tokenizer = try REMITokenizer()
        let out = folder.appendingPathComponent("out")
        let jobs = list.files.map {
            TokenizeJob(input: $0.url, output: out.appendingPathComponent($0.relativePath + ".remi"))
        }
        let outcomes = tokenizer.tokenizeFiles(jobs, threads: 2)
        #expect(outcomes[0].error?.contains("MThd") == true)
        #expect(outcomes[1].error == nil)
        #expect(outcomes[1].notes == 2 && outcomes[1].bars == 2)
        #expect(outcomes[1].ids == (try tokenizer.tokenize(song)))
        let written = try TokenFile.read(from: out.appendingPathComponent("sub/good.mid.remi"))
        #expect(written == TokenFile(vocabulary: try Vocabulary(), ids: outcomes[1].ids))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("bad.mid.remi").path))
    }
}
