import Foundation
import MIDI
import Testing
@testable import REMI

/// The original REMI code's own events for 24 real files (../shared/data/reference/remi):
/// with the default config, each file must give exactly those events.
@Suite struct GoldenTests {
    struct Case: Sendable, CustomStringConvertible {
        var events: String
        var midi: String
        var description: String { events }
    }

    static let cases: [Case] = {
        guard
            let text = try? String(
                contentsOf: SharedData.remiReference.appendingPathComponent("index.tsv"), encoding: .utf8)
        else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let fields = line.split(separator: "\t").map(String.init)
            return fields.count >= 2 ? Case(events: fields[0], midi: fields[1]) : nil
        }
    }()

    @Test(
        "24 reference files give exactly the original's events",
        .enabled(if: SharedData.isPresent, "../shared/data is absent"))
    func referenceEvents() async throws {
        #expect(Self.cases.count == 24)
        let tokenizer = try REMITokenizer()
        // One task per file: the target must stay well under a minute in debug builds.
        let failures = await withTaskGroup(of: String?.self) { group in
            for c in Self.cases {
                group.addTask { Self.check(c, tokenizer) }
            }
            var failures: [String] = []
            for await failure in group { if let failure { failures.append(failure) } }
            return failures.sorted()
        }
        #expect(failures.isEmpty, "\(failures.count) files differ:\n\(failures.joined(separator: "\n"))")
    }

    static func check(_ c: Case, _ tokenizer: REMITokenizer) -> String? {
        do {
            let expected = try String(
                contentsOf: SharedData.remiReference.appendingPathComponent(c.events), encoding: .utf8
            )
            .split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            let file = try MIDIFile(contentsOf: SharedData.remiReference.appendingPathComponent(c.midi))
            let actual = try tokenizer.encode(file).map(tokenizer.vocabulary.name(of:))
            for i in 0..<max(expected.count, actual.count) {
                let e = i < expected.count ? expected[i] : "<none>", a = i < actual.count ? actual[i] : "<none>"
                if e != a {
                    let context = actual[max(0, i - 6)..<min(actual.count, i + 3)].joined(separator: " | ")
                    return
                        "\(c.events): line \(i + 1): expected \(e), got \(a) (expected \(expected.count) events, got "
                        + "\(actual.count)); around: \(context)"
                }
            }
            return actual.count == expected.count && actual.count > 1000
                ? nil : "\(c.events): only \(actual.count) events"
        } catch {
            return "\(c.events): \(error)"
        }
    }
}
