import Foundation
import Testing

/// `cadenza render`, `plot` and `plot-loss` on inputs that ask for more than they should get:
/// a refusal that names the limit and the option, never a crash or a partial file.
@Suite struct RenderPlotLimitTests {
    /// A one-track MIDI file (480 ticks a beat, 120 bpm by default) with a short note at tick 0
    /// and another `gap` ticks later.
    static func twoNotes(gap: Int) -> Data {
        func vlq(_ value: Int) -> [UInt8] {
            var bytes = [UInt8(value & 0x7F)]
            var rest = value >> 7
            while rest > 0 { bytes.insert(UInt8(rest & 0x7F) | 0x80, at: 0); rest >>= 7 }
            return bytes
        }
        let track: [UInt8] =
            vlq(0) + [0x90, 60, 100] + vlq(480) + [0x80, 60, 0]
            + vlq(gap - 480) + [0x90, 62, 100] + vlq(480) + [0x80, 62, 0] + vlq(0) + [0xFF, 0x2F, 0]
        let length = track.count
        let header: [UInt8] =
            Array("MThd".utf8) + [0, 0, 0, 6, 0, 0, 0, 1, 0x01, 0xE0] + Array("MTrk".utf8)
            + [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)]
        return Data(header + track)
    }

    /// A folder holding `long.mid`, two notes 0x0FFFFFFF ticks (77 hours) apart.
    static func folderWithLongSpanFile() throws -> URL {
        let folder = try CLI.scratchFolder("render-limits")
        try twoNotes(gap: 0x0FFF_FFFF).write(to: folder.appendingPathComponent("long.mid"))
        return folder
    }

    @Test func aSeventySevenHourPieceIsRefusedAtOnce() throws {
        let folder = try Self.folderWithLongSpanFile()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try CLI.run(["render", "long.mid", "--synth", "builtin"], in: folder, timeout: 30)
        #expect(outcome.status == 1, "\(outcome)")
        #expect(outcome.stderr.contains("4660.4 minutes") && outcome.stderr.contains("--max-minutes"), "\(outcome)")
        #expect(CLI.files(in: folder) == ["long.mid"])
    }

    @Test func aSeventySevenHourPieceIsPlottedAtTheAskedWidth() throws {
        let folder = try Self.folderWithLongSpanFile()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try CLI.run(["plot", "long.mid", "--width", "900"], in: folder, timeout: 60)
        #expect(outcome.status == 0, "\(outcome)")
        let png = [UInt8](try Data(contentsOf: folder.appendingPathComponent("long.png")))
        // IHDR's width, big-endian, right after the signature and the chunk's length and type.
        #expect(png.count > 24 && png[16..<20].reduce(0) { $0 << 8 | Int($1) } == 900)
    }

    @Test(arguments: [
        (["plot", "long.mid", "--width", "2000000"], "--width must be between 300 and 20000 pixels, got 2000000"),
        (["plot", "long.mid", "--width", "-5"], "--width must be between 300 and 20000 pixels, got -5"),
        (["render", "long.mid", "--max-minutes", "0"], "--max-minutes must be between 1 and 360, got 0"),
        (["render", "long.mid", "--max-minutes", "-3"], "--max-minutes must be between 1 and 360, got -3"),
        (["plot-loss", ".", "--height", "100000"], "--height must be between 200 and 5000 pixels, got 100000"),
        (["plot-loss", ".", "--width", "-1"], "--width must be between 300 and 20000 pixels, got -1"),
    ])
    func sizesOutOfRangeAreUsageErrors(arguments: [String], message: String) throws {
        let folder = try Self.folderWithLongSpanFile()
        defer { try? FileManager.default.removeItem(at: folder) }
        let outcome = try CLI.run(arguments, in: folder, timeout: 30)
        #expect(outcome.status == 64, "\(outcome)")
        #expect(outcome.stderr.contains(message), "\(outcome)")
        #expect(CLI.files(in: folder) == ["long.mid"])
    }

    /// Two run folders give one picture of both validation curves; a folder that is not a
    /// run among them is refused by name, and nothing is written.
    @Test func plotLossComparesSeveralRuns() throws {
        let folder = try CLI.scratchFolder("plot-loss-runs")
        defer { try? FileManager.default.removeItem(at: folder) }
        for (name, offset) in [("txl", 0.0), ("gpt2", 0.1)] {
            let run = folder.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            let lines = (1...20).map { step in
                let kind = step % 5 == 0 ? "validation" : "train"
                return #"{"kind":"\#(kind)","step":\#(step),"epoch":0,"loss":\#(3.0 - Double(step) * 0.05 + offset),"#
                    + #""tokens_seen":\#(step * 2048),"elapsed_s":\#(step)}"#
            }
            try lines.joined(separator: "\n").write(
                to: run.appendingPathComponent("metrics.jsonl"), atomically: true, encoding: .utf8)
        }
        let both = try CLI.run(["plot-loss", "txl", "gpt2", "--out", "both.png"], in: folder, timeout: 30)
        #expect(both.status == 0, "\(both)")
        #expect(both.stdout.contains("16 training, 4 validation; 16 training, 4 validation"), "\(both)")
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("both.png").path))
        let refused = try CLI.run(["plot-loss", "txl", ".", "--out", "bad.png"], in: folder, timeout: 30)
        #expect(refused.status == 1 && refused.stderr.contains(". has no metrics.jsonl"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("bad.png").path))
    }
}
