import Foundation
import MIDI
import Testing
@testable import REMI

/// Every file of ../shared/data (maestro-asap and pop909, 1,816 files) tokenizes, decodes and
/// is written and read back with no error, and every note and tempo stays within the bounds:
/// with the seed's piano REMI, and with instruments and metres (each note's part and each
/// bar's metre exact). The per-corpus figures printed here are the ones in
/// docs/tokenizer-roundtrip.md.
@Suite struct CorpusTests {
    struct Outcome: Sendable {
        var corpus: String
        var report: RoundTripReport?
        var error: String?
    }

    @Test(
        "all 1,816 shared files round trip within the bounds",
        .enabled(if: SharedData.isPresent, "../shared/data is absent"), arguments: [false, true])
    func everySharedFileRoundTrips(withInstrumentsAndMetres: Bool) async throws {
        let tokenizer = try REMITokenizer(
            config: withInstrumentsAndMetres ? InstrumentTests.config() : TokenizerConfig())
        let corpora = ["maestro-asap", "pop909"]
        let jobs = corpora.flatMap { corpus in
            SharedData.midiFiles(under: SharedData.root.appendingPathComponent(corpus)).map { (corpus, $0) }
        }
        #expect(jobs.count == 1816)
        let workers = max(ProcessInfo.processInfo.activeProcessorCount, 1)
        let outcomes = await withTaskGroup(of: [Outcome].self) { group in
            for w in 0..<workers {
                group.addTask {
                    stride(from: w, to: jobs.count, by: workers).map { i in
                        Self.check(jobs[i].1, corpus: jobs[i].0, tokenizer)
                    }
                }
            }
            var all: [Outcome] = []
            for await part in group { all += part }
            return all
        }
        let errors = outcomes.compactMap(\.error)
        #expect(errors.isEmpty, "\(errors.count) files failed: \(errors.prefix(10).joined(separator: "\n"))")
        for corpus in corpora {
            var total = RoundTripReport()
            for outcome in outcomes where outcome.corpus == corpus { if let r = outcome.report { total.add(r) } }
            print(Self.summary(corpus + (withInstrumentsAndMetres ? " (instruments, metres)" : ""), total))
            #expect(total.withinBounds, "\(corpus): \(total)")
        }
    }

    static func check(_ url: URL, corpus: String, _ tokenizer: REMITokenizer) -> Outcome {
        do {
            let file = try MIDIFile(contentsOf: url)
            let (report, decoded) = try tokenizer.roundTrip(file)
            let back = try MIDIFile(bytes: try decoded.encoded())
            guard back.noteCount == decoded.noteCount else {
                return Outcome(
                    corpus: corpus,
                    error: "\(url.path): \(decoded.noteCount) notes written, \(back.noteCount) read back")
            }
            return Outcome(corpus: corpus, report: report)
        } catch {
            return Outcome(corpus: corpus, error: "\(url.path): \(error)")
        }
    }

    static func summary(_ corpus: String, _ r: RoundTripReport) -> String {
        func pct(_ n: Int) -> String { String(format: "%.2f%%", 100 * Double(n) / Double(max(r.notesIn, 1))) }
        func f(_ x: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", x) }
        return [
            "ROUNDTRIP \(corpus): files \(r.files), tokens \(r.tokens), bars \(r.bars), notes in \(r.notesIn),"
                + " out \(r.notesOut)",
            "  onsets moved \(r.onsetsMoved) (\(pct(r.onsetsMoved))), >30 ticks \(r.onsetsMovedOver30)"
                + " (\(pct(r.onsetsMovedOver30))), >60 ticks \(r.onsetsMovedOver60),"
                + " mean |shift| \(f(r.meanOnsetShift)) ticks, max \(f(r.maxOnsetShift))",
            "  durations changed \(r.durationsChanged) (\(pct(r.durationsChanged))), clamped \(r.durationsClamped)"
                + " (\(pct(r.durationsClamped))) of which shorter than 60 ticks \(r.durationsBelowRange),"
                + " mean |error| \(f(r.meanDurationError)) ticks, max \(f(r.maxDurationError))",
            "  velocity outside bin \(r.velocitiesOutsideBin), pitch changed \(r.pitchesChanged),"
                + " tempo beats \(r.tempoBeats), max tempo error \(f(r.maxTempoError, 3)) bpm",
            "  parts changed \(r.instrumentsChanged), files whose metres changed \(r.metersChanged)",
        ].joined(separator: "\n")
    }
}
