import Basics
import Foundation
import Testing

@Suite struct AtomicFileTests {
    private func scratch() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("basics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func writesWholeFilesAndLeavesNoTemporary() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("a.bin")
        try AtomicFile.write(Data([1, 2, 3]), to: file)
        try AtomicFile.write(Data([4, 5]), to: file)
        #expect(try Data(contentsOf: file) == Data([4, 5]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a.bin"])
    }

    @Test func aWriterThatIsDiscardedLeavesTheOldFile() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("a.wav")
        try AtomicFile.write(Data([9]), to: file)
        let writer = try AtomicFile.Writer(file)
        try writer.append([1, 2, 3, 4])
        try writer.overwrite([7], at: 0)
        #expect(FileManager.default.fileExists(atPath: AtomicFile.temporaryURL(for: file).path))
        writer.discard()
        #expect(try Data(contentsOf: file) == Data([9]))
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["a.wav"])
        let second = try AtomicFile.Writer(file)
        try second.append([1, 2, 3, 4])
        try second.overwrite([7], at: 0)
        try second.commit()
        #expect(try Data(contentsOf: file) == Data([7, 2, 3, 4]))
    }

    @Test func writeFailuresSayWhatWhereAndWhy() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let missing = folder.appendingPathComponent("no/such/a.png")
        #expect(
            throws: FileError.cannotWrite(
                path: missing.path,
                reason: "the folder \(folder.path)/no/such does not exist")
        ) {
            try AtomicFile.write(Data([1]), to: missing)
        }
        #expect(throws: FileError.cannotWrite(path: folder.path, reason: "it is a folder")) {
            try AtomicFile.write(Data([1]), to: folder)
        }
        let message = "\(FileError.cannotWrite(path: "/x/a.png", reason: "the folder /x does not exist"))"
        #expect(message == "cannot write /x/a.png: the folder /x does not exist")
    }

    @Test func outputChecksFindProblemsBeforeTheWork() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        try OutputPath.checkFile(folder.appendingPathComponent("a.mid"))
        try OutputPath.checkFile(folder.appendingPathComponent("new/deeper/a.mid"), createsFolders: true)
        try OutputPath.checkFolder(folder.appendingPathComponent("new/deeper"))
        #expect(throws: FileError.self) { try OutputPath.checkFile(folder.appendingPathComponent("new/a.mid")) }
        let plainFile = folder.appendingPathComponent("plain")
        try AtomicFile.write(Data([1]), to: plainFile)
        #expect(throws: FileError.self) { try OutputPath.checkFolder(plainFile.appendingPathComponent("sub")) }
        #expect(throws: FileError.self) { try OutputPath.checkFile(folder) }
    }
}

@Suite struct JSONKeysTests {
    @Test func unknownKeysNameTheNearestKnownOne() throws {
        let known = ["chords", "ticksPerBeat", "beatsPerBar"]
        try JSONKeys.requireKnown(Data(#"{"chords": false}"#.utf8), known: known, source: "my.json")
        #expect(throws: UnknownKeyError(source: "my.json", key: "chordz", suggestion: "chords")) {
            try JSONKeys.requireKnown(Data(#"{"chordz": false}"#.utf8), known: known, source: "my.json")
        }
        #expect(throws: UnknownKeyError(source: "my.json", key: "zzzzzzzz", suggestion: nil)) {
            try JSONKeys.requireKnown(Data(#"{"zzzzzzzz": 1}"#.utf8), known: known, source: "my.json")
        }
        #expect(
            "\(UnknownKeyError(source: "my.json", key: "chordz", suggestion: "chords"))"
                == "my.json: unknown key 'chordz' (did you mean 'chords'?)")
        #expect(JSONKeys.nearest(to: "ticks_per_beat", in: known) == "ticksPerBeat")
    }

    @Test func quotedTextIsAJSONStringThatParsesBack() throws {
        let text = "a \"b\" \\ c\nd\te\u{01}é"
        let quoted = JSONKeys.quoted(text)
        #expect(quoted == #""a \"b\" \\ c\nd\te\u0001é""#)
        let parsed = try JSONSerialization.jsonObject(with: Data("[\(quoted)]".utf8)) as? [String]
        #expect(parsed == [text])
    }

    @Test func decodingErrorsReadAsPlainWords() throws {
        struct Settings: Decodable { var layers: Int }
        func message(_ json: String) -> String {
            switch Result(catching: { try JSONDecoder().decode(Settings.self, from: Data(json.utf8)) }) {
            case .success: return "decoded"
            case .failure(let error): return JSONKeys.describe(error)
            }
        }
        #expect(message("{}") == "missing key 'layers'")
        #expect(message(#"{"layers": "x"}"#) == "'layers' should be a number")
        #expect(message("{") == "not valid JSON")
    }
}
