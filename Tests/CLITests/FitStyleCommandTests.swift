import Foundation
import Testing

/// `cadenza fit-style` through the built binary and the bundled model: the model folder it
/// writes, what generation does with it, and a clear refusal when the data names no composer.
@Suite struct FitStyleCommandTests {
    @Test func fitStyleWritesTheModelWithABiasForEachComposerItRead() throws {
        let folder = try CLI.scratchFolder("fit-style")
        defer { try? FileManager.default.removeItem(at: folder) }
        try folder.appendingPathComponent("a.mid").write(Fixture.scale(bars: 4))
        try folder.appendingPathComponent("b.mid").write(Fixture.scale(bars: 2))
        try folder.appendingPathComponent("c.mid").write(
            Fixture.midi((0..<16).map { (pitch: UInt8(72 + $0 % 5), start: $0 * 240, length: 200) }))
        try """
        canonical_composer,canonical_title,split,midi_filename
        Bach,A,train,a.mid
        Bach,B,train,b.mid
        Chopin,C,train,c.mid
        Chopin,D,test,a.mid

        """.write(to: folder.appendingPathComponent("pieces.csv"), atomically: true, encoding: .utf8)
        let fit = try CLI.run(
            ["fit-style", "--data", "pieces.csv", "--out", "styled", "--tokens", "64", "--threads", "1"], in: folder)
        #expect(fit.status == 0, "\(fit)")
        #expect(fit.stdout.contains("read bach: 2 training pieces"), "\(fit)")
        #expect(fit.stdout.contains("read chopin: 1 training piece,"), "\(fit)")
        #expect(fit.stdout.contains("2 styles fitted (bach, chopin)"), "\(fit)")
        let styled = folder.appendingPathComponent("styled")
        for name in ["model.safetensors", "model.json", "vocab.json", "style-bias.json"] {
            #expect(FileManager.default.fileExists(atPath: styled.appendingPathComponent(name).path), "\(name)")
        }
        let json =
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: styled.appendingPathComponent("style-bias.json"))) as? [String: Any]
        let styles = json?["styles"] as? [String] ?? []
        let pieces = json?["pieces"] as? [Int] ?? []
        let offsets = json?["offsets"] as? [[Double]] ?? []
        #expect(json?["fitted_tokens"] as? Int == 64)
        #expect(styles.count == pieces.count && styles.count == offsets.count && !styles.isEmpty)
        for (style, (count, offset)) in zip(styles, zip(pieces, offsets)) {
            // Pieces read per style; a style without pieces keeps a zero offset, the others move.
            #expect(count == ["bach": 2, "chopin": 1][style, default: 0], "\(style)")
            #expect(offset.contains { $0 != 0 } == (count > 0), "\(style)")
        }

        // Generation reads the bias with the style asked; the same seed without it writes other music.
        func generate(_ model: String?, _ out: String) throws -> Data {
            let outcome = try CLI.run(
                ["generate"] + (model.map { ["--checkpoint", $0] } ?? [])
                    + ["--style", "chopin", "--bars", "4", "--seed", "5", "--out", out, "--threads", "1"], in: folder)
            #expect(outcome.status == 0, "\(outcome)")
            return try Data(contentsOf: folder.appendingPathComponent(out))
        }
        #expect(try generate("styled", "with.mid") != generate(nil, "without.mid"))
    }

    @Test func dataWithoutComposersIsRefusedAndNothingIsWritten() throws {
        let folder = try CLI.scratchFolder("fit-style-none")
        defer { try? FileManager.default.removeItem(at: folder) }
        let music = folder.appendingPathComponent("music")
        try FileManager.default.createDirectory(at: music, withIntermediateDirectories: true)
        for i in 0..<4 { try music.appendingPathComponent("\(i).mid").write(Fixture.scale(bars: 2 + i)) }
        let outcome = try CLI.run(
            ["fit-style", "--data", "music", "--out", "styled", "--tokens", "32", "--threads", "1"], in: folder)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.stderr.contains("cannot fit a style bias: no readable training piece carries"), "\(outcome)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("styled").path))
    }
}
