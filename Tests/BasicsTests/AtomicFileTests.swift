import Basics
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Testing

/// A new empty folder for one test's files.
private func scratch() throws -> URL {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("basics-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
}

@Suite struct AtomicFileTests {
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

@Suite struct FileKindTests {
    @Test func aLinkIsWrittenThroughAndAFileKeepsItsPermissions() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let target = folder.appendingPathComponent("target.mid"), link = folder.appendingPathComponent("link.mid")
        try AtomicFile.write(Data([1]), to: target)
        #expect(chmod(target.path, 0o600) == 0)
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "target.mid")
        try AtomicFile.write(Data([2, 3]), to: link)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: link.path) == "target.mid")
        #expect(try Data(contentsOf: target) == Data([2, 3]))
        var info = stat()
        #expect(stat(target.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        // A program's output (FluidSynth's) is renamed into place the same way.
        try AtomicFile.write(to: link) { temporary in try Data([4]).write(to: temporary) }
        #expect(try Data(contentsOf: target) == Data([4]))
        #expect(stat(target.path, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() == ["link.mid", "target.mid"])
        #expect(OutputPath.isSameFile(link.path, target.path))
        #expect(OutputPath.isSameFile(folder.path + "/./target.mid", target.path))
        #expect(!OutputPath.isSameFile(folder.appendingPathComponent("new.mid").path, target.path))
    }

    @Test func aFIFOIsNeitherReplacedNorWaitedOn() throws {
        let folder = try scratch()
        defer { try? FileManager.default.removeItem(at: folder) }
        let fifo = folder.appendingPathComponent("pipe.mid")
        #expect(mkfifo(fifo.path, 0o644) == 0)
        let refusal = "it is not a regular file (a device, FIFO or socket), which a file cannot replace"
        #expect(throws: FileError.cannotWrite(path: fifo.path, reason: refusal)) {
            try AtomicFile.write(Data([1]), to: fifo)
        }
        #expect(throws: FileError.cannotWrite(path: fifo.path, reason: refusal)) { try OutputPath.checkFile(fifo) }
        var info = stat()
        #expect(lstat(fifo.path, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO)
        // Opening a FIFO to read would wait for a writer; it is refused at once instead.
        #expect(
            throws: FileError.cannotRead(path: fifo.path, reason: "not a regular file (a FIFO, device or socket)")
        ) { _ = try FileContents.bytes(atPath: fifo.path) }
        #expect(throws: FileError.cannotRead(path: folder.path, reason: "it is a folder, not a file")) {
            _ = try FileContents.data(at: folder)
        }
        let file = folder.appendingPathComponent("a.bin")
        try AtomicFile.write(Data([1, 2, 3]), to: file)
        #expect(try FileContents.bytes(atPath: file.path) == [1, 2, 3])
        #expect(throws: FileError.self) { _ = try FileContents.bytes(atPath: file.path, maximumBytes: 2) }
    }
}

@Suite struct JSONKeysTests {
    @Test func unknownKeysNameTheNearestKnownOne() throws {
        let known = ["chords", "ticksPerBeat", "beatsPerBar"]
        try JSONKeys.requireKnown(Data(#"{"chords": false}"#.utf8), known: known, source: "my.json")
        #expect(
            throws: UnknownKeyError(source: "my.json", key: "chordz", suggestion: "chords", knownKeys: known)
        ) {
            try JSONKeys.requireKnown(Data(#"{"chordz": false}"#.utf8), known: known, source: "my.json")
        }
        #expect(throws: UnknownKeyError(source: "my.json", key: "zzzzzzzz", suggestion: nil, knownKeys: known)) {
            try JSONKeys.requireKnown(Data(#"{"zzzzzzzz": 1}"#.utf8), known: known, source: "my.json")
        }
        #expect(
            "\(UnknownKeyError(source: "my.json", key: "chordz", suggestion: "chords", knownKeys: known))"
                == "my.json: unknown key 'chordz' (did you mean 'chords'?)")
        // With no key near, the message lists them all.
        #expect(
            "\(UnknownKeyError(source: "my.json", key: "zzzzzzzz", suggestion: nil, knownKeys: known))"
                == "my.json: unknown key 'zzzzzzzz' (the keys are beatsPerBar, chords, ticksPerBeat)")
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
