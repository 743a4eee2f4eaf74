@testable import Corpus
import Foundation
import MIDI
import REMI
import Testing
@testable import Training

@Suite struct CorpusTests {
    @Test func folderIsSearchedRecursivelyAndSplitByPathHash() throws {
        let root = Fixtures.temporaryFolder()
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("a/b"), withIntermediateDirectories: true)
        for (i, name) in ["one.mid", "a/two.MIDI", "a/b/three.mid", "a/notes.txt", "a/b/.hidden.mid"].enumerated() {
            try Fixtures.midi(root: 48 + i).write(to: root.appendingPathComponent(name))
        }
        let (files, layout) = try CorpusSource.files(at: root.path, ratios: SplitRatios(validation: 0.5))
        #expect(layout == .folder)
        #expect(files.map(\.relativePath) == ["a/b/three.mid", "a/two.MIDI", "one.mid"])
        let ratios = SplitRatios(validation: 0.5)
        for f in files { #expect(f.split == ratios.split(of: f.relativePath)) }
        // The hash split is stable and follows the ratios on many paths.
        let paths = (0..<2000).map { "piece\($0).mid" }
        let r = SplitRatios(validation: 0.1, test: 0.2)
        let counts = Dictionary(grouping: paths, by: r.split(of:)).mapValues(\.count)
        #expect(abs(counts[.validation, default: 0] - 200) < 60 && abs(counts[.test, default: 0] - 400) < 80)
        #expect(paths.map(r.split(of:)) == paths.map(r.split(of:)))
    }

    @Test func csvUsesItsSplitColumnAndQuotedFields() throws {
        let root = Fixtures.temporaryFolder()
        let csv = #"""
            canonical_composer,canonical_title,split,midi_filename
            Bach,"Prelude, Fugue and ""Allegro""",train,x/a.mid
            Chopin,Etude,validation,y/b.mid
            Liszt,"Two
            lines",test,c.mid
            Brahms,Waltz,train,/abs/d.mid

            """#
        try csv.write(to: root.appendingPathComponent("meta.csv"), atomically: true, encoding: .utf8)
        let (files, layout) = try CorpusSource.files(at: root.path, ratios: SplitRatios())
        #expect(layout == .csv)
        #expect(files.map(\.relativePath) == ["x/a.mid", "y/b.mid", "c.mid", "/abs/d.mid"])
        #expect(files.map(\.split) == [.train, .validation, .test, .train])
        #expect(files[0].path == root.appendingPathComponent("x/a.mid").path)
        #expect(files[3].path == "/abs/d.mid", "an absolute path is taken as it is, as in a list file")
        #expect(CSV.rows(csv)[1] == ["Bach", "Prelude, Fugue and \"Allegro\"", "train", "x/a.mid"])

        try "split,midi_filename\nbogus,a.mid\n".write(
            to: root.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        #expect(
            throws: CorpusError.malformedLine(
                path: root.appendingPathComponent("bad.csv").path, line: 2,
                reason: "split 'bogus' is not train, validation or test")
        ) {
            try CorpusSource.files(at: root.appendingPathComponent("bad.csv").path, ratios: SplitRatios())
        }
        try "name,split\na.mid,train\n".write(
            to: root.appendingPathComponent("nocolumn.csv"), atomically: true, encoding: .utf8)
        #expect(
            throws: CorpusError.missingColumn(
                path: root.appendingPathComponent("nocolumn.csv").path, column: "midi_filename")
        ) {
            try CorpusSource.files(at: root.appendingPathComponent("nocolumn.csv").path, ratios: SplitRatios())
        }
    }

    @Test func listFileAndClearErrors() throws {
        let root = Fixtures.temporaryFolder()
        try "# my pieces\n\nsongs/a.mid\n/abs/b.mid\n".write(
            to: root.appendingPathComponent("list.txt"), atomically: true, encoding: .utf8)
        let (files, layout) = try CorpusSource.files(
            at: root.appendingPathComponent("list.txt").path, ratios: SplitRatios())
        #expect(
            layout == .list && files.map(\.path) == [root.appendingPathComponent("songs/a.mid").path, "/abs/b.mid"])

        let empty = Fixtures.temporaryFolder("empty")
        #expect(throws: CorpusError.noMIDIFiles(path: empty.path)) {
            try CorpusSource.files(at: empty.path, ratios: SplitRatios())
        }
        try "text".write(to: empty.appendingPathComponent("readme.txt"), atomically: true, encoding: .utf8)
        #expect(throws: CorpusError.noMIDIFiles(path: empty.path)) {
            try CorpusSource.files(at: empty.path, ratios: SplitRatios())
        }
        #expect(throws: CorpusError.dataNotFound(path: "/no/such/folder")) {
            try CorpusSource.files(at: "/no/such/folder", ratios: SplitRatios())
        }
        #expect(throws: CorpusError.invalidSplitRatios(validation: 0.6, test: 0.5)) {
            try CorpusSource.files(at: root.path, ratios: SplitRatios(validation: 0.6, test: 0.5))
        }
    }
}

@Suite struct TokenCacheTests {
    @Test func secondLoadComesFromTheCacheAndAChangedConfigRetokenizes() throws {
        let root = Fixtures.temporaryFolder()
        for i in 0..<4 { try Fixtures.midi(root: 50 + i, bars: 3).write(to: root.appendingPathComponent("p\(i).mid")) }
        try Data("MThd garbage".utf8).write(to: root.appendingPathComponent("broken.mid"))
        let cacheFolder = root.appendingPathComponent("cache")
        let (files, _) = try CorpusSource.files(at: root.path, ratios: SplitRatios(validation: 0))
        let cache = TokenCache(folder: cacheFolder, tokenizer: Fixtures.tokenizer)
        let first = try cache.load(files)
        #expect(first.tokenizedCount == 4 && first.pieces.count == 4)
        #expect(first.skipped.map { URL(fileURLWithPath: $0.path).lastPathComponent } == ["broken.mid"])
        #expect(first.skipped[0].reason.isEmpty == false)
        let direct = try Fixtures.tokenizer.tokenize(Fixtures.midi(root: 50, bars: 3)).map { Int32($0) }
        #expect(first.pieces[0].ids == direct)  // p0, the first usable file in path order
        #expect(first.pieces.allSatisfy { $0.ids.last == Int32(Fixtures.tokenizer.vocabulary.endOfPieceID) })

        let second = try cache.load(files)
        #expect(second.tokenizedCount == 0)
        #expect(second.pieces.map(\.ids) == first.pieces.map(\.ids))

        var config = TokenizerConfig()
        config.chords = false
        let other = TokenCache(folder: cacheFolder, tokenizer: try REMITokenizer(config: config))
        #expect(other.configKey != cache.configKey)
        #expect(try other.load(files).tokenizedCount == 4)

        // A changed file is tokenized again (the key is its content).
        try Fixtures.midi(root: 70, bars: 3).write(to: root.appendingPathComponent("p0.mid"))
        let third = try cache.load(files)
        #expect(third.tokenizedCount == 1)

        // A FIFO among the files is skipped at once with the reason, not waited on.
        let pipe = root.appendingPathComponent("pipe.mid")
        #expect(mkfifo(pipe.path, 0o644) == 0)
        let withPipe = try cache.load(try CorpusSource.files(at: root.path, ratios: SplitRatios(validation: 0)).files)
        #expect(
            withPipe.skipped.contains {
                $0.path == pipe.path && $0.reason == "not a regular file (a FIFO, device or socket)"
            }, "\(withPipe.skipped)")
    }

    @Test func tooLittleDataIsAClearError() throws {
        let root = Fixtures.temporaryFolder()
        try Fixtures.midi(root: 60, bars: 1).write(to: root.appendingPathComponent("short.mid"))
        var options = Fixtures.options(kind: .transformerXL, steps: 2, batch: 16)
        options.data = DataOptions(path: root.path, ratios: SplitRatios(validation: 0), cacheFolder: nil)
        #expect {
            try TrainingData.load(options: options, tokenizer: Fixtures.tokenizer, segmentLength: 128)
        } throws: { error in
            guard case let TrainingError.notEnoughData(split, _, needed, _) = error else { return false }
            return split == "train" && needed == 16 * 129
        }
    }
}

@Suite struct AugmentationTests {
    let v = Fixtures.tokenizer.vocabulary
    func id(_ e: REMIEvent) -> Int32 { Int32(v.id(for: e)!) }

    @Test func transpositionMovesNotesAndChordRootsAndKeepsLength() {
        let ids = [
            id(.bar), id(.position(0)), id(.chord(.chord(root: 10, quality: .minor))), id(.velocity(20)),
            id(.noteOn(60)), id(.duration(3)), id(.tempoClass(1)), id(.tempoValue(30)),
        ]
        let draw = Augmentation.Draw(semitones: 3, velocityBins: -25, tempoFactor: 1.5)
        let out = Augmentation.standard.apply(draw, to: ids, tokenizer: Fixtures.tokenizer)
        // 120 bpm x 1.5 = 180 bpm: class 2 (fast, from 150), value 30.
        #expect(
            out == [
                id(.bar), id(.position(0)), id(.chord(.chord(root: 1, quality: .minor))), id(.velocity(0)),
                id(.noteOn(63)), id(.duration(3)), id(.tempoClass(2)), id(.tempoValue(30)),
            ])
    }

    @Test func aTranspositionLeavingThePianoIsDropped() {
        let ids = [id(.noteOn(125)), id(.noteOn(40))]
        let out = Augmentation.standard.apply(
            Augmentation.Draw(semitones: 4, velocityBins: 0, tempoFactor: 1),
            to: ids, tokenizer: Fixtures.tokenizer)
        #expect(out == ids)
    }

    /// A drum pitch names a drum: transposing it would swap the kick for another drum.
    @Test func drumsAreNeverTransposed() throws {
        let tokenizer = try REMITokenizer(config: .arrangement())
        let a = tokenizer.vocabulary
        func id(_ e: REMIEvent) -> Int32 { Int32(a.id(for: e)!) }
        let ids = [
            id(.bar), id(.position(0)), id(.instrument(128)), id(.velocity(20)), id(.noteOn(127)),
            id(.duration(0)), id(.position(0)), id(.instrument(33)), id(.velocity(20)), id(.noteOn(40)),
            id(.duration(0)),
        ]
        let out = Augmentation.standard.apply(
            Augmentation.Draw(semitones: 2, velocityBins: 0, tempoFactor: 1), to: ids, tokenizer: tokenizer)
        // The drum note at 127 does not stop the bass from moving, and does not move itself.
        #expect(out[4] == id(.noteOn(127)) && out[9] == id(.noteOn(42)))
    }

    @Test func drawsAreSeededAndVaried() {
        let a = Augmentation.standard
        #expect(a.draw(seed: 1, epoch: 2, piece: 3) == a.draw(seed: 1, epoch: 2, piece: 3))
        let draws = (0..<50).map { a.draw(seed: 1, epoch: 0, piece: $0) }
        #expect(Set(draws.map(\.semitones)).count > 6)
        #expect(draws.allSatisfy { (-5...6).contains($0.semitones) && (0.9...1.1).contains($0.tempoFactor) })
        #expect(Augmentation.none.isIdentity && !a.isIdentity)
    }
}
